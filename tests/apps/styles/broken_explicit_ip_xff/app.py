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
    ip = request.headers.get("X-Forwarded-For", request.remote_addr)
    client().capture(event, distinct_id=did, properties={**base, "$ip": ip, **props})


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
    return page("<h1>Welcome</h1>")


#@@SIGNUP
@app.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not (name and email and password):
            return page(SIGNUP_FORM, error="all fields are required"), 400
        if find_user("email", email):
            return page(SIGNUP_FORM, error="email taken"), 400
        user = {"id": "u_" + secrets.token_hex(4), "name": name, "email": email,
                "phone": request.form.get("phone", ""),
                "pw": generate_password_hash(password)}
        with LOCK:
            USERS[user["id"]] = user
        session.clear()
        session["uid"] = user["id"]
        identify(user)
        track("user_signed_up", user)
        return redirect(url_for("dashboard"))
    return page(SIGNUP_FORM)
#@@END_SIGNUP


#@@LOGIN
@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = find_user("email", request.form.get("email", ""))
        if user is None or not check_password_hash(user["pw"], request.form.get("password", "")):
            return page(LOGIN_FORM, error="wrong email or password"), 401
        session.clear()
        session["uid"] = user["id"]
        identify(user)
        track("user_logged_in", user)
        return redirect(url_for("dashboard"))
    return page(LOGIN_FORM)
#@@END_LOGIN


#@@LOGOUT
@app.route("/logout")
def logout():
    track("user_logged_out")
    session.clear()
    return redirect(url_for("index"))
#@@END_LOGOUT


#@@DASHBOARD
@app.route("/dashboard")
def dashboard():
    if current_user() is None:
        return redirect(url_for("login"))
    track("dashboard_viewed")
    return page(DASHBOARD)
#@@END_DASHBOARD


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


#@@ERRORS
@app.errorhandler(500)
def internal_error(error):
    did, base = ids()
    client().capture_exception(getattr(error, "original_exception", None) or error,
                               distinct_id=did, properties=base)
    return page("<h1>Something went wrong</h1>"), 500
#@@END_ERRORS


