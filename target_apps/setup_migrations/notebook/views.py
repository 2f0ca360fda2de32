"""Pages, as inline templates: register, sign in, sign out, the notebook."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template_string
from flask import request
from flask import session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash
from werkzeug.wrappers import Response

from notebook.models import Member
from notebook.models import db
from notebook.tracking import tracker

bp = Blueprint("views", __name__)

PAGE = """<!doctype html><title>Notebook</title>
<a href="/">Home</a> <a href="/register">Register</a> <a href="/login">Sign in</a>
{% if form == "register" %}
<form method="post"><input type="email" name="email" required>
<input name="display_name" required><input type="password" name="password" required>
<button>Create account</button></form>
{% elif form == "login" %}
<form method="post"><input type="email" name="email" required>
<input type="password" name="password" required><button>Sign in</button></form>
{% else %}<p>{{ text }}</p>{% endif %}"""


@bp.get("/")
def home() -> str:
    tracker.event("home_viewed")
    return render_template_string(PAGE, form=None, text="A notebook.")


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    if request.method == "GET":
        return render_template_string(PAGE, form="register")
    member = Member(
        email=request.form["email"],
        display_name=request.form["display_name"],
        password_hash=generate_password_hash(request.form["password"]),
    )
    db.session.add(member)
    db.session.commit()
    session["member_id"] = member.id
    tracker.person(member.id, member.email, member.display_name, "member_registered")
    return redirect("/notebook")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template_string(PAGE, form="login")
    member = db.session.execute(
        db.select(Member).filter_by(email=request.form["email"])
    ).scalar_one_or_none()
    if member is None or not check_password_hash(member.password_hash, request.form["password"]):
        return render_template_string(PAGE, form="login"), 401
    session["member_id"] = member.id
    tracker.person(member.id, member.email, member.display_name, "member_signed_in")
    return redirect("/notebook")


@bp.get("/logout")
def logout() -> Response:
    tracker.event("member_signed_out")
    session.clear()
    return redirect("/")


@bp.post("/api/notes")
def add_note() -> tuple[dict[str, int], int]:
    if not session.get("member_id"):
        return {"error": 401}, 401
    text = str((request.get_json(silent=True) or {}).get("text", ""))
    tracker.event("note_added", length=len(text))  # metadata only, never the text
    return {"length": len(text)}, 201


@bp.get("/notebook")
def notebook() -> str | Response:
    if not session.get("member_id"):
        return redirect("/login")
    tracker.event("notebook_viewed")
    return render_template_string(PAGE, form=None, text="Your notes.")
