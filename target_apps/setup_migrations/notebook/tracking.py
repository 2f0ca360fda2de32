"""PostHog as a Flask extension: one client per app, shut down at exit.

Events carry the member's id (or the visitor's ``X-POSTHOG-DISTINCT-ID``)
and ``X-POSTHOG-SESSION-ID``; personal data only goes to person properties.
"""

from __future__ import annotations

import atexit
import os
import typing as t

from flask import Flask
from flask import current_app
from flask import request
from flask import session
from posthog import Posthog


class Tracker:
    def init_app(self, app: Flask) -> None:
        key = os.environ.get("POSTHOG_API_KEY", "")
        client = Posthog(
            key,
            host=os.environ.get("POSTHOG_HOST", "https://eu.i.posthog.com"),
            enable_exception_autocapture=True,
            disabled=not key,
        )
        atexit.register(client.shutdown)
        app.extensions["tracker"] = client

        @app.errorhandler(500)
        def failed(error: t.Any) -> tuple[str, int]:
            self.exception(getattr(error, "original_exception", None) or error)
            return "<h1>Something broke</h1>", 500

    @property
    def client(self) -> Posthog:
        return t.cast(Posthog, current_app.extensions["tracker"])

    def _who(self) -> tuple[str | None, dict[str, t.Any]]:
        member = session.get("member_id")
        who = str(member) if member else request.headers.get("X-POSTHOG-DISTINCT-ID")
        sid = request.headers.get("X-POSTHOG-SESSION-ID")
        return who, ({"$session_id": sid} if sid else {})

    def event(self, name: str, **props: t.Any) -> None:
        who, base = self._who()
        self.client.capture(name, distinct_id=who, properties=base | props)

    def person(self, member_id: int, email: str, display_name: str, name: str) -> None:
        self.client.set(
            distinct_id=str(member_id), properties={"email": email, "name": display_name}
        )
        self.event(name)

    def exception(self, error: BaseException) -> None:
        who, base = self._who()
        self.client.capture_exception(error, distinct_id=who, properties=base)


tracker = Tracker()
