"""Ignores SIGTERM: the harness must kill it after the stop deadline."""

import signal

from flask import Flask

signal.signal(signal.SIGTERM, signal.SIG_IGN)

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "ok"
