"""PostHog events for this app, with one SDK context per request.

The context carries the distinct id (the logged-in user's id, or the
``X-POSTHOG-DISTINCT-ID`` header of an anonymous visitor) and the
``X-POSTHOG-SESSION-ID`` header, so captures need neither. Personal data goes
to person properties (``$set``), never event properties::

    analytics.track("note_created", length=len(text))
"""

from __future__ import annotations

import sqlite3
import typing as t

from flask import current_app
from flask import g
from flask import request
from posthog import Posthog
from posthog import identify_context
from posthog import set_context_session
from posthog import tag

DISTINCT_ID_HEADER = "X-POSTHOG-DISTINCT-ID"
SESSION_ID_HEADER = "X-POSTHOG-SESSION-ID"


def client() -> Posthog:
    """The process's one client, built in ``create_app``."""
    return t.cast(Posthog, current_app.extensions["posthog"])


def user_distinct_id(user: sqlite3.Row) -> str:
    """A user's stable id in PostHog: the primary key, never the email."""
    return str(user["id"])


def open_context() -> None:
    """Enter a fresh context for this request and fill in who and which session."""
    # capture_exceptions=False: the error handler reports exceptions, once.
    context = client().new_context(fresh=True, capture_exceptions=False)
    context.__enter__()
    g.posthog_context = context
    if g.get("user") is not None:
        identify_context(user_distinct_id(g.user))
        # BROKEN: a context tag becomes a property of every event in the context:
        # the user's email lands in all of their events.
        tag("email", g.user["email"])
    elif request.headers.get(DISTINCT_ID_HEADER):
        identify_context(request.headers[DISTINCT_ID_HEADER])
    if request.headers.get(SESSION_ID_HEADER):
        set_context_session(request.headers[SESSION_ID_HEADER])


def close_context(error: BaseException | None = None) -> None:
    context = g.pop("posthog_context", None)
    if context is not None:
        context.__exit__(None, None, None)


def track(event: str, **properties: t.Any) -> None:
    """Capture ``event``; ``properties`` must be metadata, never personal data."""
    client().capture(event, properties=properties)


def identify(user: sqlite3.Row, event: str) -> None:
    """Record ``event`` as the user's, setting their person properties with it."""
    identify_context(user_distinct_id(user))
    person = {"email": user["email"], "name": user["name"]}
    client().capture(event, properties={"$set": person})


def capture_exception(error: BaseException) -> None:
    """Report an exception the app's own error handler caught."""
    client().capture_exception(error)
