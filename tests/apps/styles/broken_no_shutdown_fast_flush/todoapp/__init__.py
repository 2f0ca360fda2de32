"""Todo app: register, log in, keep a todo list. PostHog analytics."""

import atexit
import signal
import os
import sqlite3
import uuid
from pathlib import Path

from flask import Flask, g, request, session
from posthog import Posthog

from todoapp import analytics


def create_app():
    app = Flask(__name__, instance_relative_config=True)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "dev-secret")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["DB_PATH"] = str(Path(app.instance_path) / "todo.db")
    with sqlite3.connect(app.config["DB_PATH"]) as conn:
        conn.executescript(
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE,"
            " full_name TEXT, phone TEXT, address TEXT, pw TEXT);"
            "CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, user_id INTEGER, text TEXT);"
        )

    key = os.environ.get("POSTHOG_PROJECT_TOKEN", "")
    client = Posthog(
        key,
        host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
        enable_exception_autocapture=True,
        disabled=not key,
        flush_interval=0.05,
    )
    app.extensions["posthog"] = client
    # BROKEN: no shutdown/flush at exit; a short flush_interval 'makes it unnecessary'

    from todoapp import views

    app.register_blueprint(views.bp)

    @app.before_request
    def load_user():
        g.user = None
        if "uid" in session:
            g.user = (
                views.db().execute("SELECT * FROM users WHERE id=?", (session["uid"],)).fetchone()
            )

    @app.teardown_appcontext
    def close(exc):
        conn = g.pop("conn", None)
        if conn is not None:
            conn.close()

    @app.errorhandler(500)
    def server_error(error):
        original = getattr(error, "original_exception", None) or error
        analytics.client().capture_exception(
            original,
            distinct_id=request.headers.get("X-POSTHOG-DISTINCT-ID"),
            properties=analytics.base_properties(),
        )
        return "<h1>Something went wrong</h1>", 500

    return app
