"""Session login: who is logged in, and the decorator that requires it."""

from __future__ import annotations

import functools
import sqlite3
import typing as t

from flask import g
from flask import redirect
from flask import session
from flask import url_for

from app.db import get_db

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def load_logged_in_user() -> None:
    """Put the session's user (or None) on ``g.user`` before every request."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = get_db().execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def log_in(user: sqlite3.Row) -> None:
    session.clear()
    session["user_id"] = user["id"]
    g.user = user


def login_required(view: F) -> F:
    """Send anonymous visitors to the login page."""

    @functools.wraps(view)
    def wrapped(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if g.user is None:
            return redirect(url_for("pages.login"))
        return view(*args, **kwargs)

    return t.cast(F, wrapped)
