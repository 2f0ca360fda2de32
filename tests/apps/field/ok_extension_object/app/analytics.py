"""Events of this app, sent through the extension's client (metadata only)."""

from __future__ import annotations

import sqlite3
import typing as t

from flask import current_app
from flask import g
from posthog import Posthog

if t.TYPE_CHECKING:
    from app.extensions import Analytics


def _client() -> Posthog:
    ext = t.cast("Analytics", current_app.extensions["analytics"])
    assert ext.client is not None
    return ext.client


def _ids(user: sqlite3.Row | None) -> tuple[str | None, dict[str, t.Any]]:
    user = user if user is not None else g.get("user")
    distinct_id = str(user["id"]) if user is not None else g.get("ph_distinct_id")
    session_id = g.get("ph_session_id")
    return distinct_id, ({"$session_id": session_id} if session_id else {})


def track(event: str, user: sqlite3.Row | None = None, **properties: t.Any) -> None:
    distinct_id, base = _ids(user)
    _client().capture(event, distinct_id=distinct_id, properties={**base, **properties})


def identify(user: sqlite3.Row, event: str) -> None:
    _client().set(
        distinct_id=str(user["id"]), properties={"email": user["email"], "name": user["name"]}
    )
    track(event, user=user)


def capture_exception(error: BaseException) -> None:
    distinct_id, base = _ids(None)
    _client().capture_exception(error, distinct_id=distinct_id, properties=base)
