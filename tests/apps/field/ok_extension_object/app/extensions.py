"""The PostHog extension, in the ``init_app`` pattern of Flask extensions.

One object at import time, bound to the app in the factory; the client lives on
the extension and the extension in ``app.extensions["analytics"]``.
"""

from __future__ import annotations

import atexit

from flask import Flask
from flask import g
from flask import request
from posthog import Posthog

DISTINCT_ID_HEADER = "X-POSTHOG-DISTINCT-ID"
SESSION_ID_HEADER = "X-POSTHOG-SESSION-ID"


class Analytics:
    """Owns the process's one PostHog client."""

    def __init__(self, app: Flask | None = None) -> None:
        self.client: Posthog | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        token = app.config["POSTHOG_PROJECT_TOKEN"]
        self.client = Posthog(
            token,
            host=app.config["POSTHOG_HOST"],
            enable_exception_autocapture=True,
            disabled=not token,
        )
        atexit.register(self.client.shutdown)
        app.extensions["analytics"] = self
        app.before_request(self._remember_frontend_ids)

    @staticmethod
    def _remember_frontend_ids() -> None:
        """Keep the frontend's ids for every event this request sends."""
        g.ph_distinct_id = request.headers.get(DISTINCT_ID_HEADER)
        g.ph_session_id = request.headers.get(SESSION_ID_HEADER)


analytics_ext = Analytics()
