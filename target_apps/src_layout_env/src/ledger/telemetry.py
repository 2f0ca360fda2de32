"""One PostHog client for the app, and the helpers views use."""

from __future__ import annotations

import atexit
import os
import typing as t

from flask import Flask
from flask import current_app
from flask import request
from flask import session
from posthog import Posthog


class Telemetry:
    def __init__(self, app: Flask) -> None:
        token = os.environ.get("POSTHOG_KEY", "")
        self.client = Posthog(
            token,
            host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
            enable_exception_autocapture=True,
            disabled=not token,
        )
        atexit.register(self.client.shutdown)
        app.extensions["telemetry"] = self
        app.register_error_handler(500, self._on_error)

    def _on_error(self, error: t.Any) -> tuple[str, int]:
        distinct, props = context()
        self.client.capture_exception(
            getattr(error, "original_exception", None) or error,
            distinct_id=distinct,
            properties=props,
        )
        return "ledger error", 500


def context() -> tuple[str | None, dict[str, str]]:
    person = session.get("person")
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    distinct = str(person) if person else request.headers.get("X-POSTHOG-DISTINCT-ID")
    return distinct, ({"$session_id": sid} if sid else {})


def telemetry() -> Telemetry:
    return t.cast(Telemetry, current_app.extensions["telemetry"])


def emit(event: str) -> None:
    distinct, props = context()
    telemetry().client.capture(event, distinct_id=distinct, properties=props)


def become(person: int, email: str, nickname: str, event: str) -> None:
    session["person"] = person
    telemetry().client.set(distinct_id=str(person), properties={"email": email, "name": nickname})
    emit(event)
