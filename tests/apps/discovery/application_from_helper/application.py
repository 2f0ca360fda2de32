"""Elastic Beanstalk style: the app is built by a private helper."""

from flask import Flask


def _build() -> Flask:
    return Flask(__name__)


application = _build()

if __name__ == "__main__":
    application.run()
