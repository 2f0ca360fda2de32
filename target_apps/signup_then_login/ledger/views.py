"""The ledger's pages, one MethodView per resource."""

from __future__ import annotations

import typing as t
import uuid

from flask import Flask
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask.views import MethodView
from posthog import identify_context
from posthog import new_context
from posthog import set_context_session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

ACCOUNTS: dict[str, dict[str, str]] = {}
ENTRIES: dict[str, list[str]] = {}

JOIN = """<!doctype html><title>Join</title><h1>Open a ledger</h1>
<form method="post"><label>Email <input type="email" name="email"></label>
<label>Name <input type="text" name="name"></label>
<label>Password <input type="password" name="password"></label>
<label>Confirm <input type="password" name="confirm"></label>
<button>Create account</button></form>"""
SIGN_IN = """<!doctype html><title>Sign in</title><h1>Sign in</h1>
<form method="post"><label>Email <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label>
<button>Sign in</button></form>"""


def analytics() -> t.Any:
    return current_app.extensions["posthog"]


def track(event: str, distinct_id: str | None, **properties: t.Any) -> None:
    """One event in a context carrying the caller's identity and session."""
    with new_context(client=analytics()):
        who = distinct_id or request.headers.get("X-POSTHOG-DISTINCT-ID")
        if who:
            identify_context(who)
        sid = request.headers.get("X-POSTHOG-SESSION-ID")
        if sid:
            set_context_session(sid)
        analytics().capture(event, properties=properties)


class Home(MethodView):
    def get(self) -> str:
        track("ledger_home_viewed", session.get("account"))
        return "<h1>Ledger</h1><a href='/join'>Join</a> <a href='/session/new'>Sign in</a>"


class Join(MethodView):
    def get(self) -> str:
        return JOIN

    def post(self) -> t.Any:
        email = request.form["email"]
        account = uuid.uuid4().hex
        ACCOUNTS[email] = {"id": account, "hash": generate_password_hash(request.form["password"])}
        analytics().set(distinct_id=account, properties={"plan": "free"})
        track("ledger_opened", account)
        return redirect("/session/new")  # no session yet: the user signs in next


class SignIn(MethodView):
    def get(self) -> str:
        return SIGN_IN

    def post(self) -> t.Any:
        found = ACCOUNTS.get(request.form.get("email", ""))
        if found is None or not check_password_hash(found["hash"], request.form["password"]):
            return SIGN_IN, 401
        session["account"] = found["id"]
        analytics().set(distinct_id=found["id"], properties={"last_sign_in": "now"})
        track("ledger_signed_in", found["id"])
        return redirect("/ledger")


class SignOut(MethodView):
    def get(self) -> t.Any:
        session.clear()
        return redirect("/")


class Ledger(MethodView):
    def get(self) -> t.Any:
        account = session.get("account")
        if account is None:
            return redirect("/session/new")
        track("ledger_viewed", account, entries=len(ENTRIES.get(account, [])))
        return {"entries": ENTRIES.get(account, [])}


class Entries(MethodView):
    def post(self) -> t.Any:
        account = session.get("account")
        if account is None:
            return {"error": "sign in first"}, 401
        ENTRIES.setdefault(account, []).append(str(request.get_json(silent=True)))
        track("ledger_entry_added", account, entries=len(ENTRIES[account]))
        return {"ok": True}, 201


def register_views(app: Flask) -> None:
    app.add_url_rule("/", view_func=Home.as_view("home"))
    app.add_url_rule("/join", view_func=Join.as_view("join"))
    app.add_url_rule("/session/new", view_func=SignIn.as_view("signin"))
    app.add_url_rule("/session/end", view_func=SignOut.as_view("signout"))
    app.add_url_rule("/ledger", view_func=Ledger.as_view("ledger"))
    app.add_url_rule("/api/entries", view_func=Entries.as_view("entries"))

    @app.errorhandler(500)
    def failed(error: t.Any) -> t.Any:
        original = getattr(error, "original_exception", None) or error
        with new_context(client=analytics()):
            header = request.headers.get("X-POSTHOG-DISTINCT-ID")
            if header and "account" not in session:
                identify_context(header)
            elif "account" in session:
                identify_context(session["account"])
            sid = request.headers.get("X-POSTHOG-SESSION-ID")
            if sid:
                set_context_session(sid)
            analytics().capture_exception(original)
        return "Something went wrong", 500
