"""Connects out from a subprocess (a fresh interpreter: no guard in it)."""

import os
import subprocess
import sys

from flask import Flask
from posthog import Posthog

client = Posthog(os.environ.get("POSTHOG_API_KEY", ""), host=os.environ.get("POSTHOG_HOST"))
app = Flask(__name__)

CONNECT = (
    "import os, socket\n"
    "address = (os.environ['HOSTILE_HOST'], int(os.environ.get('HOSTILE_PORT', '80')))\n"
    "s = socket.create_connection(address, 2)\n"
    "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
    "print('connected')\n"
)


@app.get("/")
def index() -> dict:
    client.capture("page_viewed", distinct_id="u1")
    if not os.environ.get("HOSTILE_HOST"):
        return {"tried": None}
    done = subprocess.run(
        [sys.executable, "-c", CONNECT], capture_output=True, text=True, timeout=5
    )
    return {"tried": done.stdout.strip() or done.stderr.strip().splitlines()[-1]}
