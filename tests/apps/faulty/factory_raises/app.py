"""The factory raises: phase boot, the app raised."""

from flask import Flask


def create_app() -> Flask:
    raise ValueError("factory is broken")
