"""Flask-extension-style PostHog wrapper: create the object at import, bind it in create_app."""

import atexit

from flask import g, request
from posthog import Posthog


class PostHogExtension:
    def __init__(self, app=None):
        self.client = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        key = app.config.get("POSTHOG_API_KEY")
        self.client = Posthog(
            key or "",
            host=app.config["POSTHOG_API_HOST"],
            enable_exception_autocapture=True,
            disabled=not key,
        )
        atexit.register(self.client.shutdown)
        app.extensions["posthog"] = self

    # -- helpers used by the views -------------------------------------------------
    def _who(self):
        user = g.get("user")
        if user is not None:
            return str(user["id"])
        return request.headers.get("X-POSTHOG-DISTINCT-ID")

    def _base(self):
        sid = request.headers.get("X-POSTHOG-SESSION-ID")
        return {"$session_id": sid} if sid else {}

    def capture(self, event, **props):
        self.client.capture(event, distinct_id=self._who(), properties={**self._base(), **props})

    def identify(self, user, event):
        self.client.capture(
            event,
            distinct_id=str(user["id"]),
            properties={
                **self._base(),
                "$set": {"email": user["email"], "name": f"{user['first']} {user['last']}"},
            },
        )

    def exception(self, exc):
        self.client.capture_exception(exc, distinct_id=self._who(), properties=self._base())


posthog_ext = PostHogExtension()
