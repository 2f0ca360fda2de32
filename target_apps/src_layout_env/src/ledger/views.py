"""Class-based views: MethodView per page."""

from __future__ import annotations

import sqlite3
import typing as t

from flask import Flask
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask.views import MethodView
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ledger.telemetry import become
from ledger.telemetry import emit

JOIN = """<h1>Join the ledger</h1><form method="post">
<input type="email" name="email"><input name="nickname"><input type="password" name="secret">
<button type="submit">Register</button></form>"""
ENTER = """<h1>Log in</h1><form method="post">
<input type="email" name="email"><input type="password" name="secret">
<button type="submit">Log in</button></form>"""


def connect() -> sqlite3.Connection:
    return sqlite3.connect(current_app.config["LEDGER_DATABASE"])


class Home(MethodView):
    def get(self) -> str:
        emit("ledger_home")
        return "<h1>Ledger</h1><a href='/register'>Register</a> <a href='/login'>Log in</a>"


class Register(MethodView):
    def get(self) -> str:
        return JOIN

    def post(self) -> t.Any:
        email, nickname = request.form["email"], request.form["nickname"]
        with connect() as conn:
            cur = conn.execute(
                "INSERT INTO people (email, nickname, secret) VALUES (?, ?, ?)",
                (email, nickname, generate_password_hash(request.form["secret"])),
            )
        become(t.cast(int, cur.lastrowid), email, nickname, "person_registered")
        return redirect("/ledger")


class Login(MethodView):
    def get(self) -> str:
        return ENTER

    def post(self) -> t.Any:
        with connect() as conn:
            row = conn.execute(
                "SELECT id, nickname, secret FROM people WHERE email = ?", (request.form["email"],)
            ).fetchone()
        if row is None or not check_password_hash(row[2], request.form["secret"]):
            return ENTER, 401
        become(row[0], request.form["email"], row[1], "person_logged_in")
        return redirect("/ledger")


class Logout(MethodView):
    def get(self) -> t.Any:
        emit("person_logged_out")
        session.clear()
        return redirect("/")


class Ledger(MethodView):
    def get(self) -> t.Any:
        if "person" not in session:
            return redirect("/login")
        emit("ledger_viewed")
        return "<h1>Your ledger</h1>"


class Entries(MethodView):
    def post(self) -> t.Any:
        if "person" not in session:
            return {"error": "log in first"}, 401
        body = request.get_json(silent=True) or {}
        emit("entry_recorded")  # that an entry was made, never what it says
        return {"saved": bool(body.get("text"))}, 201


def register(app: Flask) -> None:
    for rule, view in (
        ("/", Home),
        ("/register", Register),
        ("/login", Login),
        ("/logout", Logout),
        ("/ledger", Ledger),
        ("/api/entries", Entries),
    ):
        app.add_url_rule(rule, view_func=view.as_view(view.__name__.lower()))
