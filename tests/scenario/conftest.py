"""A small conventional Flask app the driver is exercised against, served two ways.

The app verifies a CSRF-like hidden token, keeps the user in a cookie session,
records every request it serves (path, correlation headers, step header, who
was logged in), and "identifies" the user on signup/login by remembering, per
step header, the id it would have given PostHog: that is what the harness's
orchestrator reads to implement ``identified_as``.
"""

from __future__ import annotations

import secrets
import threading
import typing as t

import pytest
from flask import Flask
from flask import abort
from flask import jsonify
from flask import redirect
from flask import render_template_string
from flask import request
from flask import session
from werkzeug.serving import make_server

from harness.scenario.transport import FlaskClientTransport
from harness.scenario.transport import HttpTransport

HANG_LIMIT_S = 10.0  # a hung handler gives up on its own if teardown never comes

SIGNUP_PAGE = """<!doctype html><html><head><meta name="csrf-token" content="{{ token }}"></head>
<body><form method="get" action="/search"><input name="q"></form>
<form method="post" action="">
  <input type="hidden" name="csrf_token" value="{{ token }}">
  <input type="email" name="email" required>
  <input name="full_name"><input type="tel" name="phone"><input name="street_address">
  <textarea name="bio"></textarea>
  <select name="plan"><option value="free">Free</option><option value="pro">Pro</option></select>
  <input type="password" name="password"><input type="password" name="confirm_password">
  <input type="checkbox" name="accept_terms">
  <button type="submit" name="action" value="signup">Sign up</button>
</form>{% if error %}<p>{{ error }}</p>{% endif %}</body></html>"""

LOGIN_PAGE = """<!doctype html><html><body>
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ token }}">
<input name="email"><input type="password" name="password"><input type="submit" value="Log in">
</form></body></html>"""


def _token() -> str:
    session.setdefault("csrf", secrets.token_hex(8))
    return t.cast(str, session["csrf"])


def _check_token() -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    if not sent or sent != session.get("csrf"):
        abort(400, "CSRF token missing or wrong")


def make_demo_app() -> Flask:
    app = Flask("demo")
    app.secret_key = "test-only"
    users: dict[str, dict[str, str]] = {}
    seen: list[dict[str, t.Any]] = []
    identified: dict[int, str] = {}
    notes: list[str] = []
    release = threading.Event()
    app.extensions["demo"] = {
        "users": users, "seen": seen, "identified": identified, "notes": notes, "release": release,
    }  # fmt: skip

    @app.before_request
    def record() -> None:
        seen.append(
            {
                "path": request.path,
                "method": request.method,
                "step": request.headers.get("X-Posthog-Verify-Step"),
                "distinct_id": request.headers.get("X-POSTHOG-DISTINCT-ID"),
                "session_id": request.headers.get("X-POSTHOG-SESSION-ID"),
                "forwarded_for": request.headers.get("X-Forwarded-For"),
                "user": session.get("user"),
            }
        )

    def log_in(email: str) -> t.Any:
        session["user"] = email
        identified[int(request.headers["X-Posthog-Verify-Step"])] = users[email]["id"]
        return redirect("/dashboard")

    @app.route("/")
    def home() -> str:
        return "<a href='/signup'>Sign up</a>"

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> t.Any:
        if request.method == "GET":
            return render_template_string(SIGNUP_PAGE, token=_token(), error=None)
        _check_token()
        form = request.form
        if form.get("password") != form.get("confirm_password") or "accept_terms" not in form:
            return render_template_string(SIGNUP_PAGE, token=_token(), error="invalid")
        users[form["email"]] = {"id": f"user-{len(users) + 1}", **form}
        return log_in(form["email"])

    @app.route("/login", methods=["GET", "POST"])
    def login() -> t.Any:
        if request.method == "GET":
            return render_template_string(LOGIN_PAGE, token=_token())
        _check_token()
        user = users.get(request.form.get("email", ""))
        if user is None or user["password"] != request.form.get("password"):
            return render_template_string(LOGIN_PAGE, token=_token()), 200
        return log_in(request.form["email"])

    @app.route("/api/session", methods=["POST"])
    def json_login() -> t.Any:
        body = request.get_json()
        user = users.get(body.get("email", ""))
        if user is None or user["password"] != body.get("password"):
            return jsonify(error="bad credentials"), 401
        log_in(body["email"])
        return jsonify(ok=True)

    @app.route("/logout")
    def logout() -> t.Any:
        session.pop("user", None)
        return redirect("/")

    @app.route("/logout-broken")
    def logout_broken() -> t.Any:
        abort(500)

    @app.route("/dashboard")
    def dashboard() -> t.Any:
        if "user" not in session:
            return redirect("/login")
        logout_form = (
            "<form method=post action=/logout-post>"
            f"<input type=hidden name=csrf_token value={_token()}><button>Log out</button></form>"
        )
        return f"<h1>Hello {users[session['user']]['full_name']}</h1>{logout_form}"

    @app.route("/logout-post", methods=["POST"])
    def logout_post() -> t.Any:
        _check_token()
        session.pop("user", None)
        return redirect("/")

    @app.route("/api/notes", methods=["POST"])
    def add_note() -> t.Any:
        if "user" not in session:
            return jsonify(error="login required"), 401
        _check_token()
        notes.append(request.get_json()["text"])
        return jsonify(ok=True), 201

    @app.route("/__posthog_verify__/raise")
    def probe() -> str:
        raise RuntimeError("probe")

    @app.route("/hang")
    def hang() -> str:
        release.wait(HANG_LIMIT_S)
        return "released"

    return app


@pytest.fixture
def demo_app() -> t.Iterator[Flask]:
    app = make_demo_app()
    yield app
    app.extensions["demo"]["release"].set()


@pytest.fixture
def served_url(demo_app: Flask) -> t.Iterator[str]:
    """The demo app behind a real werkzeug server on a free loopback port."""
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    # a short poll interval so shutdown() returns quickly at teardown
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-server", daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    demo_app.extensions["demo"]["release"].set()  # let a hung handler finish first
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(params=["http", "flask_client"])
def transport(
    request: pytest.FixtureRequest, demo_app: Flask
) -> t.Iterator[HttpTransport | FlaskClientTransport]:
    """Both transports on the same demo app."""
    if request.param == "http":
        made: HttpTransport | FlaskClientTransport = HttpTransport(
            request.getfixturevalue("served_url")
        )
    else:
        made = FlaskClientTransport(demo_app)
    yield made
    made.close()
