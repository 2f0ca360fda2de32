"""A request that ends the process with no Python exception."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "ok"


@app.get("/exit")
def exit_now() -> str:
    os._exit(7)
