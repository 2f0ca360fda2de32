"""The HTML pages: home, signup, login, logout, dashboard, and a route that fails."""

from __future__ import annotations

import sqlite3

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash
from werkzeug.wrappers import Response

from app import analytics
from app.auth import load_logged_in_user
from app.auth import log_in
from app.auth import login_required
from app.db import get_db

bp = Blueprint("pages", __name__)
bp.before_app_request(load_logged_in_user)

SIGNUP_FIELDS = ("email", "name", "phone", "address", "password")


@bp.get("/")
def index() -> str:
    analytics.track("page_viewed", path="/")
    return render_template("index.html")


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> str | Response:
    if request.method == "POST":
        form = {field: request.form.get(field, "").strip() for field in SIGNUP_FIELDS}
        if not form["email"] or not form["password"] or not form["name"]:
            flash("Email, name and password are required.")
            return render_template("signup.html"), 400
        db = get_db()
        try:
            cursor = db.execute(
                "INSERT INTO users (email, name, phone, address, password_hash)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    form["email"],
                    form["name"],
                    form["phone"],
                    form["address"],
                    generate_password_hash(form["password"]),
                ),
            )
            db.commit()
        except sqlite3.IntegrityError:
            flash("That email is already registered.")
            return render_template("signup.html"), 400
        user = db.execute("SELECT * FROM users WHERE id = ?", (cursor.lastrowid,)).fetchone()
        log_in(user)
        analytics.identify(user, "user_signed_up")
        return redirect(url_for("pages.dashboard"))
    return render_template("signup.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        user = get_db().execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()
        if user is None or not check_password_hash(
            user["password_hash"], request.form.get("password", "")
        ):
            flash("Incorrect email or password.")
            return render_template("login.html"), 401
        log_in(user)
        analytics.identify(user, "user_logged_in")
        return redirect(_safe_next(request.form.get("next")))
    return render_template("login.html")


@bp.get("/logout")
def logout() -> Response:
    if g.user is not None:
        analytics.track("user_logged_out")
    session.clear()
    return redirect(url_for("pages.index"))


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    analytics.track("page_viewed", path="/dashboard")
    notes = get_db().execute(
        "SELECT text, created FROM notes WHERE user_id = ? ORDER BY id DESC", (g.user["id"],)
    )
    return render_template("dashboard.html", notes=notes.fetchall())


@bp.get("/boom")
def boom() -> str:
    raise RuntimeError("boom: this route fails on purpose")


def _safe_next(target: str | None) -> str:
    """Only follow local paths, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.dashboard")
