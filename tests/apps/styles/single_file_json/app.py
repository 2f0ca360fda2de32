"""Minimal bookmarks service: one file, JSON API, PostHog module API."""

import atexit
import itertools
import os
import threading

import posthog
from flask import Flask, jsonify, request, session
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY", "change-me")

posthog.project_api_key = os.environ.get("POSTHOG_PROJECT_API_KEY", "")
posthog.host = os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com")
posthog.enable_exception_autocapture = True
posthog.disabled = not posthog.project_api_key
atexit.register(posthog.shutdown)

USERS: dict[str, dict] = {}
BOOKMARKS: dict[int, list] = {}
_ids = itertools.count(1000)
_lock = threading.Lock()

FORM = """<!doctype html><h1>{title}</h1>
<form method="post" action="{action}">{extra}
<input type="email" name="email" placeholder="Email">
<input type="password" name="password" placeholder="Password">
<button type="submit">{title}</button></form>"""


def current_user():
    email = session.get("email")
    return USERS.get(email) if email else None


def ids():
    user = current_user()
    distinct_id = str(user["id"]) if user else request.headers.get("X-POSTHOG-DISTINCT-ID")
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    return distinct_id, ({"$session_id": sid} if sid else {})


def track(event, **props):
    distinct_id, base = ids()
    posthog.capture(event, distinct_id=distinct_id, properties={**base, **props})


def payload():
    return request.get_json(silent=True) or request.form.to_dict()


@app.get("/")
def home():
    track("home_viewed")
    return "<h1>Bookmarks</h1><a href='/register'>Register</a> <a href='/login'>Log in</a>"


@app.get("/register")
def register_page():
    return FORM.format(
        title="Create account",
        action="/api/register",
        extra='<input name="name" placeholder="Your name">',
    )


@app.get("/login")
def login_page():
    return FORM.format(title="Log in", action="/api/login", extra="")


@app.post("/api/register")
def api_register():
    data = payload()
    email, password = (data.get("email") or "").strip().lower(), data.get("password") or ""
    if not email or not password:
        return jsonify(error="email and password required"), 400
    with _lock:
        if email in USERS:
            return jsonify(error="already registered"), 409
        user = {
            "id": next(_ids),
            "email": email,
            "name": data.get("name", ""),
            "pw": generate_password_hash(password, method="pbkdf2:sha256:1000"),
        }
        USERS[email] = user
    session["email"] = email
    _, base = ids()
    posthog.set(distinct_id=str(user["id"]), properties={"email": email, "name": user["name"]})
    posthog.capture("account_created", distinct_id=str(user["id"]), properties=base)
    return jsonify(id=user["id"]), 201


@app.post("/api/login")
def api_login():
    data = payload()
    user = USERS.get((data.get("email") or "").strip().lower())
    if not user or not check_password_hash(user["pw"], data.get("password") or ""):
        return jsonify(error="bad credentials"), 401
    session["email"] = user["email"]
    _, base = ids()
    posthog.set(distinct_id=str(user["id"]), properties={"email": user["email"]})
    posthog.capture("logged_in", distinct_id=str(user["id"]), properties=base)
    return jsonify(id=user["id"])


@app.route("/logout", methods=["GET", "POST"])
def logout():
    if current_user():
        track("logged_out")
    session.clear()
    return jsonify(ok=True)


@app.get("/me")
def me():
    user = current_user()
    if not user:
        return jsonify(error="login required"), 401
    track("profile_viewed")
    return jsonify(id=user["id"], bookmarks=len(BOOKMARKS.get(user["id"], [])))


@app.post("/api/items")
def add_item():
    user = current_user()
    if not user:
        return jsonify(error="login required"), 401
    text = payload().get("text") or ""
    BOOKMARKS.setdefault(user["id"], []).append(text)
    track("bookmark_added", length=len(text))
    return jsonify(ok=True), 201


@app.errorhandler(500)
def on_error(e):
    distinct_id, base = ids()
    posthog.capture_exception(
        getattr(e, "original_exception", None) or e, distinct_id=distinct_id, properties=base
    )
    return jsonify(error="internal error"), 500


if __name__ == "__main__":
    app.run(debug=True)
