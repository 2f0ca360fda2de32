"""Submitting the signup form raises SystemExit inside the view: the request
thread ends without an answer while the server keeps serving."""

import sys

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
        sys.exit(3)
    return FORM
