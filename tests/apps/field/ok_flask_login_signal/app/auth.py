"""Session login with Flask-Login; ``g.user`` stays the sqlite row for the views."""

from __future__ import annotations

import sqlite3
import typing as t

from flask import g
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_required as _flask_login_required
from flask_login import login_user

from app.db import get_db

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

login_manager = LoginManager()
login_manager.login_view = "pages.login"


class User(UserMixin):
    """A logged-in user: the row, and its primary key as the Flask-Login id."""

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        self.id = str(row["id"])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    row = get_db().execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return User(row) if row is not None else None


def load_logged_in_user() -> None:
    """Put the session's user row (or None) on ``g.user`` before every request."""
    g.user = current_user.row if current_user.is_authenticated else None


def log_in(row: sqlite3.Row) -> None:
    login_user(User(row))
    g.user = row


def login_required(view: F) -> F:
    return t.cast(F, _flask_login_required(view))
