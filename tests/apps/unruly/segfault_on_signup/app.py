"""Submitting the signup form crashes the interpreter (SIGSEGV), no Python
exception: the error must name the signup, not the request after it."""

import ctypes

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
        ctypes.string_at(0)  # reads address 0: the kernel kills the process
    return FORM
