"""PostHog for the club: module-level configuration of the SDK's default client."""

from __future__ import annotations

import atexit
import os
import typing as t

import posthog
from flask import Flask
from flask import request
from flask import session


def setup(app: Flask) -> None:
    token = os.environ.get("POSTHOG_PROJECT_TOKEN", "")
    posthog.api_key = token
    posthog.host = os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com")
    posthog.enable_exception_autocapture = True
    posthog.disabled = not token
    atexit.register(posthog.shutdown)

    @app.errorhandler(500)
    def broken(error: t.Any) -> tuple[str, int]:
        distinct, props = _who()
        posthog.capture_exception(
            getattr(error, "original_exception", None) or error,
            distinct_id=distinct,
            properties=props,
        )
        return "the club is closed for a moment", 500


def _who() -> tuple[str | None, dict[str, str]]:
    member = session.get("member")
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    distinct = str(member) if member else request.headers.get("X-POSTHOG-DISTINCT-ID")
    return distinct, ({"$session_id": sid} if sid else {})


def record(event: str) -> None:
    distinct, props = _who()
    posthog.capture(event, distinct_id=distinct, properties=props)


def welcome(member: int, email: str, nickname: str, event: str) -> None:
    session["member"] = member
    posthog.set(distinct_id=str(member), properties={"email": email, "name": nickname})
    record(event)
