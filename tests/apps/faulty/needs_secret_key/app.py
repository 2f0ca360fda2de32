"""Needs configuration of its own from the environment: without it, no boot."""

import os

from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["PVTEST_SHOP_SECRET_KEY"]


@app.get("/")
def index() -> str:
    return "ok"
