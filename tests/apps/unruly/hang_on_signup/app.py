"""The signup form never answers: the request deadline must cut it off."""

import threading

from flask import Flask

app = Flask(__name__)
_never = threading.Event()


@app.get("/")
def index() -> str:
    return "ok"


@app.route("/signup", methods=["GET", "POST"])
def signup() -> str:
    _never.wait()
    return "unreachable"
