"""PostHog events for this app: who did what, with safe metadata only.

An event carries the logged-in user's id (an anonymous visitor's
``X-POSTHOG-DISTINCT-ID`` header otherwise) and the ``X-POSTHOG-SESSION-ID``
header as ``$session_id``, so backend events join the frontend's person and
session. Personal data goes to person properties (``client.set``), never into
event properties::

    analytics.track("note_created", length=len(text))
"""

from __future__ import annotations

import sqlite3
import typing as t

from flask import current_app
from flask import g
from flask import request
from posthog import Posthog

DISTINCT_ID_HEADER = "X-POSTHOG-DISTINCT-ID"
SESSION_ID_HEADER = "X-POSTHOG-SESSION-ID"


def client() -> Posthog:
    """The process's one client, built in ``create_app``."""
    return t.cast(Posthog, current_app.extensions["posthog"])


def user_distinct_id(user: sqlite3.Row) -> str:
    """A user's stable id in PostHog: the primary key, never the email."""
    return str(user["id"])


def _identity(user: sqlite3.Row | None = None) -> tuple[str | None, dict[str, t.Any]]:
    """The distinct id and base properties of an event sent from this request."""
    user = user if user is not None else g.get("user")
    if user is not None:
        distinct_id = user_distinct_id(user)
    else:
        distinct_id = request.headers.get(DISTINCT_ID_HEADER)
    session_id = request.headers.get(SESSION_ID_HEADER)
    properties: dict[str, t.Any] = {"$session_id": session_id} if session_id else {}
    return distinct_id, properties


def track(event: str, user: sqlite3.Row | None = None, **properties: t.Any) -> None:
    """Capture ``event``; ``properties`` must be metadata, never personal data."""
    distinct_id, base = _identity(user)
    client().capture(event, distinct_id=distinct_id, properties={**base, **properties})


def identify(user: sqlite3.Row, event: str) -> None:
    """Make the user a person with properties, then record ``event`` as theirs."""
    client().set(
        distinct_id=user_distinct_id(user),
        properties={"email": user["email"], "name": user["name"]},
    )
    track(event, user=user)


def capture_exception(error: BaseException) -> None:
    """Report an exception the app's own error handler caught."""
    distinct_id, base = _identity()
    client().capture_exception(error, distinct_id=distinct_id, properties=base)
