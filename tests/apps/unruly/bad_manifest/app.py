"""A fine app with a manifest that has a misspelled key."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "ok"
