"""A stock-keeping app configured from a settings class, which refuses to
start without its database setting.

The PostHog integration is fine; what is missing is the app's own setting
``INVENTORY_DATABASE_URL``, which the environment has to provide. The harness
must say so (``error``, naming the variable), not blame the integration.
"""

from __future__ import annotations

import atexit
import os

from flask import Flask
from flask import request
from posthog import Posthog


class Settings:
    """Everything read from the environment, checked once at start-up."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.database_url = environ.get("INVENTORY_DATABASE_URL")
        if not self.database_url:
            raise RuntimeError(
                "INVENTORY_DATABASE_URL must be set: the inventory has nowhere to keep its stock."
            )
        self.posthog_token = environ.get("POSTHOG_PROJECT_TOKEN", "")
        self.posthog_host = environ.get("POSTHOG_HOST")


def create_app() -> Flask:
    settings = Settings(dict(os.environ))
    app = Flask(__name__)
    client = Posthog(
        settings.posthog_token,
        host=settings.posthog_host,
        enable_exception_autocapture=True,
    )
    atexit.register(client.shutdown)

    @app.get("/")
    def stock() -> dict[str, object]:
        who = request.headers.get("X-POSTHOG-DISTINCT-ID") or "anonymous"
        client.capture("stock_viewed", distinct_id=who)
        return {"items": [], "database": settings.database_url is not None}

    return app
