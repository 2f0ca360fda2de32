
import atexit
import itertools
import os
from datetime import datetime, timedelta, timezone

import posthog
from flask import Flask, g, jsonify, redirect, request, session
from werkzeug.security import check_password_hash, generate_password_hash
from posthog import Posthog, new_context, identify_context, set_context_session, tag


USERS = {}
BY_ID = {}
_ids = itertools.count(100)

OLD_SIGNUP = """<!doctype html><title>Sign up</title><h1>Sign up</h1>
<form method="post" action="/signup">
<input type="email" name="email"><input name="name"><input name="phone">
<input name="address"><input type="password" name="password"><button>Sign up</button></form>"""
OLD_LOGIN = """<!doctype html><title>Log in</title><h1>Log in</h1>
<form method="post" action="/login">
<input type="email" name="email"><input type="password" name="password"><button>Log in</button></form>"""


SIGNUP_FORM = """<!doctype html><title>Sign up</title><h1>Sign up</h1>
<form id="f" method="post" action="/signup"><input type="email" name="email"><input name="name"><input name="phone"><input name="address"><input type="password" name="password"><button>Sign up</button></form>
<script>
document.getElementById("f").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await fetch("/signup", {method: "POST", body: new FormData(ev.target)});
  const j = await r.json();
  if (j.redirect) window.location = j.redirect;
});
</script>"""
LOGIN_FORM = """<!doctype html><title>Log in</title><h1>Log in</h1>
<form id="f" method="post" action="/login"><input type="email" name="email"><input type="password" name="password"><button>Log in</button></form>
<script>
document.getElementById("f").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await fetch("/login", {method: "POST", body: new FormData(ev.target)});
  const j = await r.json();
  if (j.redirect) window.location = j.redirect;
});
</script>"""


def create_app():
    app = Flask(__name__)
    app.secret_key = os.environ.get("SECRET_KEY", "dev")

    token = os.environ.get("POSTHOG_PROJECT_TOKEN", "")
    client = Posthog(token, host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
                     enable_exception_autocapture=True, disabled=not token)
    atexit.register(client.shutdown)

    def current_user():
        uid = session.get("uid")
        return BY_ID.get(uid) if uid is not None else None

    def did():
        u = current_user()
        return str(u["id"]) if u else request.headers.get("X-POSTHOG-DISTINCT-ID")

    def base_props():
        sid = request.headers.get("X-POSTHOG-SESSION-ID")
        return {"$session_id": sid} if sid else {}


    def track(event, **props):
        client.capture(event, distinct_id=did(), properties={**base_props(), **props})

    @app.get("/")
    def index():
        track("page_viewed", path="/")
        return "<h1>Home</h1><a href='/signup'>Sign up</a> <a href='/login'>Log in</a>"

    @app.route("/signup", methods=["GET", "POST"])
    def signup():
        if request.method == "GET":
            return SIGNUP_FORM
        f = request.form
        email = f.get("email", "").strip().lower()
        if not email or not f.get("password"):
            return SIGNUP_FORM, 400
        if email in USERS:
            return SIGNUP_FORM, 400
        u = {"id": next(_ids), "email": email, "name": f.get("name", ""),
             "pw": generate_password_hash(f["password"], method="pbkdf2:sha256:1000")}
        USERS[email] = u
        BY_ID[u["id"]] = u
        anon = request.headers.get("X-POSTHOG-DISTINCT-ID")
        session.clear()
        session["uid"] = u["id"]

        client.set(distinct_id=str(u["id"]), properties={"email": email, "name": u["name"]})
        track("user_signed_up")
        return jsonify(redirect="/dashboard")

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return LOGIN_FORM
        f = request.form
        u = USERS.get(f.get("email", "").strip().lower())
        if not u or not check_password_hash(u["pw"], f.get("password", "")):
            return LOGIN_FORM, 400
        session.clear()
        session["uid"] = u["id"]

        client.set(distinct_id=str(u["id"]), properties={"email": u["email"]})
        track("user_logged_in")
        return jsonify(redirect="/dashboard")

    @app.route("/logout", methods=["GET", "POST"])
    def logout():
        if current_user():
            track("user_logged_out")
        session.clear()
        return redirect("/")

    @app.get("/dashboard")
    def dashboard():
        if not current_user():
            return redirect("/login")
        track("dashboard_viewed")
        return "<h1>Dashboard</h1>"

    @app.post("/api/notes")
    def notes():
        if not current_user():
            return jsonify(error="login required"), 401
        text = (request.get_json(silent=True) or {}).get("text", "")
        track("note_created", length=len(text))
        return jsonify(ok=True), 201


    @app.errorhandler(500)
    def on_500(e):
        client.capture_exception(getattr(e, "original_exception", None) or e,
                                 distinct_id=did(), properties=base_props())
        return "<h1>Server error</h1>", 500
    return app
