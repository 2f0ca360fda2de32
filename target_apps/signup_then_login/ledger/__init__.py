"""A small ledger app whose signup does not log the new user in.

Views are ``MethodView`` classes registered on the app; users live in memory.
Signing up creates the account, identifies the new user to PostHog and sends
them to the login page (``/session/new``); only the login starts a session.
PostHog is used through one client built at start-up from the environment.
"""

from __future__ import annotations

import atexit
import os

from flask import Flask
from posthog import Posthog

from ledger.views import register_views


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("LEDGER_SECRET", "dev-only-ledger-secret")
    client = Posthog(
        os.environ.get("POSTHOG_PROJECT_TOKEN", ""),
        host=os.environ.get("POSTHOG_HOST"),
        enable_exception_autocapture=True,
        disabled=not os.environ.get("POSTHOG_PROJECT_TOKEN"),
    )
    atexit.register(client.shutdown)
    app.extensions["posthog"] = client
    register_views(app)
    return app
