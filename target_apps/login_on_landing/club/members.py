"""The landing page (a login form), new members, leaving, the lounge."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from club.metrics import record
from club.metrics import welcome


def routes(app: Flask) -> None:
    app.add_url_rule("/", "landing", landing, methods=["GET", "POST"])
    app.add_url_rule("/members/new", "new_member", new_member, methods=["GET", "POST"])
    app.add_url_rule("/members/logout", "leave", leave)
    app.add_url_rule("/lounge", "lounge", lounge)
    app.add_url_rule("/members/posts", "post", post, methods=["POST"])
    app.add_url_rule("/about", "about", lambda: render_template("about.html"))


def landing() -> t.Any:
    if request.method == "POST":
        found = current_app.config["MEMBERS"].get(request.form.get("email", ""))
        if found is None or not check_password_hash(found[2], request.form.get("password", "")):
            return render_template("landing.html", error=True), 401
        welcome(found[0], request.form["email"], found[1], "member_entered")
        return redirect("/lounge")
    record("landing_viewed")
    return render_template("landing.html", error=False)


def new_member() -> t.Any:
    if request.method == "GET":
        return render_template("join.html")
    members = current_app.config["MEMBERS"]
    member_id = len(members) + 1
    email, nickname = request.form["email"], request.form["nickname"]
    members[email] = (member_id, nickname, generate_password_hash(request.form["password"]))
    welcome(member_id, email, nickname, "member_joined")
    return redirect("/lounge")


def leave() -> t.Any:
    record("member_left")
    session.clear()
    return redirect("/")


def lounge() -> t.Any:
    if "member" not in session:
        return redirect("/")
    record("lounge_viewed")
    return render_template("lounge.html")


def post() -> t.Any:
    if "member" not in session:
        return redirect("/")
    record("board_posted")  # who posted, never what
    return redirect("/")
