"""A one-file notes service whose PostHog integration breaks every request.

Each request opens a PostHog context in ``before_request`` and closes it in
``teardown_request``, but calls the context manager's ``__exit__`` with the
teardown's single argument instead of the three the protocol takes. The
TypeError is raised after the view ran (its capture calls went out), in the
teardown, so werkzeug answers its generic 500 page to every request.
"""

from __future__ import annotations

import atexit
import os
import uuid

import posthog
from flask import Flask
from flask import g
from flask import jsonify
from flask import redirect
from flask import request
from flask import session
from posthog import Posthog

app = Flask(__name__)
app.secret_key = os.environ.get("NOTES_SECRET", "dev-only-notes-secret")

analytics = Posthog(
    os.environ.get("POSTHOG_PROJECT_TOKEN", ""),
    host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
    enable_exception_autocapture=True,
)
atexit.register(analytics.shutdown)

USERS: dict[str, dict[str, str]] = {}

PAGE = """<!doctype html><title>Notes</title><h1>Notes</h1>
<form method="post" action="/signup"><input type="email" name="email">
<input type="text" name="name"><input type="password" name="password">
<button>Sign up</button></form>"""


@app.before_request
def open_posthog_context() -> None:
    g.ph_context = posthog.new_context(client=analytics)
    g.ph_context.__enter__()
    header = request.headers.get("X-POSTHOG-DISTINCT-ID")
    if "user" in session:
        posthog.identify_context(session["user"])
    elif header:
        posthog.identify_context(header)
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    if sid:
        posthog.set_context_session(sid)


@app.teardown_request
def close_posthog_context(error: BaseException | None) -> None:
    context = g.pop("ph_context", None)
    if context is not None:
        context.__exit__(error)  # BROKEN-ON-PURPOSE: __exit__ takes (type, value, traceback)


@app.get("/")
def home() -> str:
    analytics.capture("home_viewed")
    return PAGE


@app.route("/signup", methods=["GET", "POST"])
def signup() -> object:
    if request.method == "GET":
        return PAGE
    user_id = uuid.uuid4().hex
    USERS[request.form["email"]] = {"id": user_id, "password": request.form["password"]}
    session["user"] = user_id
    analytics.capture("user_signed_up", distinct_id=user_id, properties={"$set": {"plan": "free"}})
    return redirect("/notes")


@app.get("/notes")
def notes() -> object:
    analytics.capture("notes_viewed")
    return jsonify(notes=[])
