"""Looks a name up and connects out with ``_socket`` directly: no patch of
``socket`` sees either."""

import _socket
import contextlib
import os

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
    name = os.environ.get("HOSTILE_NAME")
    if name:
        with contextlib.suppress(OSError):
            _socket.getaddrinfo(name, 80)
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    sock.settimeout(2.0)
    try:
        sock.connect((host, int(os.environ.get("HOSTILE_PORT", "80"))))
        sock.send(b"GET / HTTP/1.0\r\n\r\n")
        result = "connected"
    except OSError as exc:
        result = f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return {"tried": result}
