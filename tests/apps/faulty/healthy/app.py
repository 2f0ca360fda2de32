"""The control: boots, uses PostHog at boot, per request and module-level,
tries a non-PostHog outbound request, and stops cleanly (its atexit handler
writes ``atexit_ran`` in its working directory)."""

import atexit
import os
from pathlib import Path

import posthog
import requests
from flask import Flask
from posthog import Posthog

client = Posthog(os.environ["POSTHOG_API_KEY"], host=os.environ["POSTHOG_HOST"])


def _marker() -> None:
    Path("atexit_ran").write_text("yes")


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index():
        return {"uuid": client.capture("home_viewed", distinct_id="u1")}

    @app.get("/per-request")
    def per_request():
        other = Posthog(os.environ["POSTHOG_API_KEY"], host=os.environ["POSTHOG_HOST"])
        return {"uuid": other.capture("per_request", distinct_id="u2")}

    @app.get("/module")
    def module():
        return {"uuid": posthog.capture("module_event", distinct_id="u3")}

    @app.get("/exception")
    def exception():
        try:
            raise KeyError("handled")
        except KeyError as exc:
            return {"uuid": client.capture_exception(exc, distinct_id="u4")}

    @app.get("/outbound")
    def outbound():
        try:
            requests.get("https://example.com/", timeout=2)
        except requests.ConnectionError as exc:
            return {"refused": str(exc)}
        return {"refused": None}

    atexit.register(client.shutdown)
    atexit.register(_marker)
    return app
