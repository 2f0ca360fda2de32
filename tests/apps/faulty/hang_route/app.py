"""A route that never answers; stopping the server must still work.

When ``HANG_NOTIFY_PORT`` is set, the view first connects to that loopback
port, so a test can wait (accept with a deadline) until the request is in
flight instead of guessing.
"""

import os
import socket
import threading

from flask import Flask

app = Flask(__name__)
_never = threading.Event()


@app.get("/")
def index() -> str:
    return "ok"


@app.get("/hang")
def hang() -> str:
    port = os.environ.get("HANG_NOTIFY_PORT")
    if port:
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
    _never.wait()
    return "unreachable"
