"""PostHog events for this app, on top of the SDK's Flask integration.

``PosthogFlaskIntegration`` opens a context per request that follows the
``X-POSTHOG-DISTINCT-ID`` and ``X-POSTHOG-SESSION-ID`` headers; this module
re-identifies the context as the logged-in user, so events need no explicit
distinct id. Personal data goes to person properties, never event properties::

    analytics.track("note_created", length=len(text))
"""

from __future__ import annotations

import sqlite3
import typing as t

from flask import current_app
from flask import g
from posthog import Posthog
from posthog import identify_context


def client() -> Posthog:
    """The process's one client, built in ``create_app``."""
    return t.cast(Posthog, current_app.extensions["posthog_client"])


def user_distinct_id(user: sqlite3.Row) -> str:
    """A user's stable id in PostHog: the primary key, never the email."""
    return str(user["id"])


def identify_request() -> None:
    """Attribute the request's events to the logged-in user, if any."""
    if g.get("user") is not None:
        identify_context(user_distinct_id(g.user))


def track(event: str, **properties: t.Any) -> None:
    """Capture ``event``; ``properties`` must be metadata, never personal data."""
    client().capture(event, properties=properties)


def identify(user: sqlite3.Row, event: str) -> None:
    """Make the user a person with properties, then record ``event`` as theirs."""
    identify_context(user_distinct_id(user))
    client().set(properties={"email": user["email"], "name": user["name"]})
    track(event)
