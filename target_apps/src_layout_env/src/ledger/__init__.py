"""Ledger: a src/ layout package with class-based views.

``LEDGER_DATABASE`` is required (there is no default): the app refuses to
start without it. Import it as ``ledger`` once installed, or with ``src`` on
the path.
"""

from __future__ import annotations

import os
import sqlite3

from flask import Flask

from ledger.telemetry import Telemetry


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("SECRET_KEY", "ledger-dev")
    app.config["LEDGER_DATABASE"] = os.environ["LEDGER_DATABASE"]
    with sqlite3.connect(app.config["LEDGER_DATABASE"]) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS people"
            " (id INTEGER PRIMARY KEY, email TEXT UNIQUE, nickname TEXT, secret TEXT)"
        )
    conn.close()
    Telemetry(app)
    from ledger.views import register

    register(app)
    return app
