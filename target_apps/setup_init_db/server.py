"""A one-file app with a module-level app object and a module-level PostHog client.

Its database needs ``flask init-db`` first; until then signup answers 500
(``sqlite3.OperationalError: no such table: accounts``).
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import typing as t
from pathlib import Path

from commands import init_db
from flask import Flask
from flask import g
from flask import redirect
from flask import request
from flask import session
from posthog import Posthog
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY", "accounts-dev")
app.config["ACCOUNTS_DB"] = str(Path(app.root_path) / "accounts.sqlite3")
app.cli.add_command(init_db)

analytics = Posthog(
    os.environ.get("POSTHOG_PROJECT_API_KEY", ""),
    host=os.environ.get("POSTHOG_API_HOST", "https://us.i.posthog.com"),
    enable_exception_autocapture=True,
    disabled=not os.environ.get("POSTHOG_PROJECT_API_KEY"),
)
atexit.register(analytics.shutdown)

FORM = """<!doctype html><h1>{title}</h1>
<p><a href="/signup">Sign up</a> <a href="/login">Log in</a></p>
<form method="post"><input type="email" name="email"><input type="password" name="pw">
{extra}<input type="submit" value="{title}"></form>"""


def db() -> sqlite3.Connection:
    if "conn" not in g:
        g.conn = sqlite3.connect(app.config["ACCOUNTS_DB"])
    return t.cast(sqlite3.Connection, g.conn)


@app.teardown_appcontext
def close(_: BaseException | None) -> None:
    conn = g.pop("conn", None)
    if conn is not None:
        conn.close()


def who() -> tuple[str | None, dict[str, str]]:
    uid = session.get("uid")
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    distinct = str(uid) if uid else request.headers.get("X-POSTHOG-DISTINCT-ID")
    return distinct, ({"$session_id": sid} if sid else {})


def track(event: str) -> None:
    distinct, props = who()
    analytics.capture(event, distinct_id=distinct, properties=props)


@app.errorhandler(500)
def failed(error: t.Any) -> tuple[str, int]:
    distinct, props = who()
    analytics.capture_exception(
        getattr(error, "original_exception", None) or error, distinct_id=distinct, properties=props
    )
    return "server error", 500


@app.get("/")
def index() -> str:
    track("landing_viewed")
    return "<h1>Accounts</h1><a href='/signup'>Sign up</a> <a href='/login'>Log in</a>"


def _log_in(uid: int, email: str, event: str) -> t.Any:
    session["uid"] = uid
    analytics.set(distinct_id=str(uid), properties={"email": email})
    track(event)
    return redirect("/dashboard")


@app.route("/signup", methods=["GET", "POST"])
def signup() -> t.Any:
    if request.method == "GET":
        return FORM.format(title="Sign up", extra='<input type="password" name="pw_again">')
    email = request.form["email"]
    cur = db().execute(
        "INSERT INTO accounts (email, pw) VALUES (?, ?)",
        (email, generate_password_hash(request.form["pw"])),
    )
    db().commit()
    return _log_in(t.cast(int, cur.lastrowid), email, "account_created")


@app.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    if request.method == "GET":
        return FORM.format(title="Log in", extra="")
    row = (
        db()
        .execute("SELECT id, pw FROM accounts WHERE email = ?", (request.form["email"],))
        .fetchone()
    )
    if row is None or not check_password_hash(row[1], request.form["pw"]):
        return FORM.format(title="Log in", extra=""), 401
    return _log_in(row[0], request.form["email"], "account_logged_in")


@app.get("/logout")
def logout() -> t.Any:
    track("account_logged_out")
    session.clear()
    return redirect("/")


@app.get("/dashboard")
def dashboard() -> t.Any:
    if "uid" not in session:
        return redirect("/login")
    track("dashboard_viewed")
    return (
        "<h1>Your account</h1><a href='/logout'>Log out</a>"
        "<form method='post' action='/notes'><textarea name='text'></textarea>"
        "<button>Save</button></form>"
    )


@app.post("/notes")
def save_note() -> t.Any:
    if "uid" not in session:
        return redirect("/login")
    analytics_props = {"length": len(request.form.get("text", ""))}  # never the text itself
    distinct, props = who()
    analytics.capture("note_saved", distinct_id=distinct, properties=props | analytics_props)
    return redirect("/dashboard")
