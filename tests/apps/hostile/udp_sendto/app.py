"""Sends a UDP datagram out with ``sendto`` (no connection to refuse)."""

import os
import socket

from flask import Flask
from posthog import Posthog

client = Posthog(os.environ.get("POSTHOG_API_KEY", ""), host=os.environ.get("POSTHOG_HOST"))
app = Flask(__name__)


@app.get("/")
def index() -> dict:
    client.capture("page_viewed", distinct_id="u1")
    host = os.environ.get("HOSTILE_HOST")
    if not host:
        return {"tried": None}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(
                b"posthog-verify-hostile", (host, int(os.environ.get("HOSTILE_UDP_PORT", "9999")))
            )
            result = "sent"
        except OSError as exc:
            result = f"{type(exc).__name__}: {exc}"
    return {"tried": result}
