"""Notes app (single file): sign up, log in, write notes; PostHog analytics."""
import atexit
import os
import secrets
import threading

from flask import Flask, g, jsonify, redirect, render_template_string, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash
from posthog import Posthog

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY", "dev-secret")

#@@CLIENT
TOKEN = os.environ.get("POSTHOG_API_KEY", "")
posthog = Posthog(
    TOKEN,
    host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
    enable_exception_autocapture=True,
    disabled=not TOKEN,
)
atexit.register(posthog.shutdown)


def client():
    return posthog
#@@END_CLIENT

USERS = {}
LOCK = threading.Lock()

PAGE = """<!doctype html><html><head><title>Notes</title>{% block head %}{% endblock %}</head><body>
<nav><a href="/">Home</a> {% if user %}<a href="/dashboard">Dashboard</a> LOGOUT_LINK{% else %}<a href="SIGNUP_URL">Sign up</a> <a href="LOGIN_URL">Log in</a>{% endif %}</nav>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
BODY
</body></html>"""
LOGOUT_LINK = '<a href="/logout">Log out</a>'
SIGNUP_URL = "/signup"
LOGIN_URL = "/login"


def page(body, **ctx):
    html = (PAGE.replace("LOGOUT_LINK", LOGOUT_LINK).replace("SIGNUP_URL", SIGNUP_URL)
            .replace("LOGIN_URL", LOGIN_URL).replace("BODY", body))
    ctx.setdefault("user", current_user())
    ctx.setdefault("error", None)
    return render_template_string(html, **ctx)


def current_user():
    uid = session.get("uid")
    return USERS.get(uid) if uid else None


def find_user(field, value):
    return next((u for u in USERS.values() if u[field].lower() == value.lower()), None)


#@@IDS
def ids(user=None):
    user = user or current_user()
    did = user["id"] if user else request.headers.get("X-POSTHOG-DISTINCT-ID")
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    return did, ({"$session_id": sid} if sid else {})
#@@END_IDS


def track(event, user=None, **props):
    did, base = ids(user)
    client().capture(event, distinct_id=did, properties={**base, **props})


#@@IDENTIFY
def identify(user):
    did, _ = ids(user)
    client().set(distinct_id=did, properties={"email": user["email"], "name": user["name"]})
#@@END_IDENTIFY


SIGNUP_FORM = """<h1>Sign up</h1><form method="post">
<input name="name" required> <input type="email" name="email" required>
<input type="password" name="password" required> <button>Sign up</button></form>"""
LOGIN_FORM = """<h1>Log in</h1><form method="post">
<input type="email" name="email" required> <input type="password" name="password" required>
<button>Log in</button></form>"""
DASHBOARD = """<h1>Your notes</h1><form method="post" action="/notes"><textarea name="text"></textarea><button>Save</button></form>"""


@app.route("/")
def index():
    track("home_viewed")
    return jsonify(service="notes", version=1)


@app.post("/api/auth/register")
def register():
    data = request.get_json(force=True)
    if not data.get("email") or len(data.get("password", "")) < 8:
        return jsonify(error="invalid"), 422
    user = {"id": "u_" + secrets.token_hex(4), "name": data.get("name", ""), "email": data["email"],
            "phone": "", "pw": generate_password_hash(data["password"])}
    USERS[user["id"]] = user
    session["uid"] = user["id"]
    identify(user)
    track("user_signed_up", user)
    return jsonify(id=user["id"]), 201


@app.post("/api/auth/login")
def login():
    data = request.get_json(force=True)
    user = find_user("email", data.get("email", ""))
    if user is None or not check_password_hash(user["pw"], data.get("password", "")):
        return jsonify(error="bad credentials"), 401
    session["uid"] = user["id"]
    identify(user)
    track("user_logged_in", user)
    return jsonify(id=user["id"])


@app.post("/api/auth/logout")
def logout():
    track("user_logged_out")
    session.clear()
    return jsonify(ok=True)


@app.get("/api/me")
def me():
    user = current_user()
    if user is None:
        return jsonify(error="login required"), 401
    track("me_viewed")
    return jsonify(id=user["id"])


@app.post("/notes")
@app.post("/api/notes")
def create_note():
    if current_user() is None:
        return jsonify(error="login required"), 401
    payload = request.get_json(silent=True) or request.form
    text = str(payload.get("text", "")).strip()
    if not text:
        return jsonify(error="text required"), 400
    track("note_created", length=len(text))
    return jsonify(length=len(text)), 201


@app.errorhandler(500)
def internal_error(error):
    did, base = ids()
    client().capture_exception(getattr(error, "original_exception", None) or error,
                               distinct_id=did, properties=base)
    return jsonify(error="internal"), 500


