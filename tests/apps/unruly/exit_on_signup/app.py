"""Submitting the signup form ends the process with no Python exception."""

import os

from flask import Flask
from flask import request

app = Flask(__name__)

FORM = """<form method="post"><input type="email" name="email">
<input type="password" name="password"><button>Sign up</button></form>"""


@app.get("/")
def index() -> str:
    return "ok"


@app.route("/signup", methods=["GET", "POST"])
def signup() -> str:
    if request.method == "POST":
        os._exit(7)
    return FORM
