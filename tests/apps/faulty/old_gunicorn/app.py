"""A healthy app whose pinned gunicorn cannot be imported (gunicorn/ beside it
stands in for gunicorn 20, which imports pkg_resources)."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    return app
