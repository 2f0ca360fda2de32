import threading

from flask import Blueprint, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from recipes.extensions import posthog_ext

bp = Blueprint("main", __name__)
_USERS = {}
_lock = threading.Lock()


@bp.before_app_request
def load_user():
    g.user = _USERS.get(session.get("email"))


@bp.get("/")
def index():
    posthog_ext.capture("landing_viewed")
    return render_template("index.html")


@bp.route("/accounts/signup", methods=["GET", "POST"])
def signup():
    if request.method == "POST":
        email = request.form["email"].strip().lower()
        with _lock:
            if email in _USERS:
                return render_template("signup.html", error="taken"), 400
            user = {
                "id": len(_USERS) + 1,
                "email": email,
                "first": request.form.get("first_name", ""),
                "last": request.form.get("last_name", ""),
                "pw": generate_password_hash(request.form["password"], method="pbkdf2:sha256:1000"),
            }
            _USERS[email] = user
        session["email"] = email
        g.user = user
        posthog_ext.identify(user, "signed_up")
        return redirect(url_for("main.recipes"))
    return render_template("signup.html")


@bp.route("/accounts/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = _USERS.get(request.form["email"].strip().lower())
        if not user or not check_password_hash(user["pw"], request.form["password"]):
            return render_template("login.html", error="bad"), 401
        session["email"] = user["email"]
        g.user = user
        posthog_ext.identify(user, "logged_in")
        return redirect(url_for("main.recipes"))
    return render_template("login.html")


@bp.post("/accounts/logout")
def logout():
    if g.user:
        posthog_ext.capture("logged_out")
    session.clear()
    return redirect(url_for("main.index"))


@bp.get("/home")
def recipes():
    if g.user is None:
        return redirect(url_for("main.login"))
    posthog_ext.capture("recipes_viewed")
    return render_template("home.html")


@bp.post("/api/entries")
def add_entry():
    if g.user is None:
        return jsonify(error="auth"), 401
    text = (request.get_json(silent=True) or {}).get("text", "")
    posthog_ext.capture("recipe_added", chars=len(text))
    return jsonify(ok=True), 201
