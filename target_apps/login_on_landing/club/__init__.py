"""Club: the landing page is the login page, and joining is at /members/new.

No route is named login or signup: a visitor finds both forms by reading
the landing page and following its "Create an account" link.
"""

from __future__ import annotations

import os

from flask import Flask

from club import members
from club import metrics


def make_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("CLUB_SECRET", "club-dev")
    app.config["MEMBERS"] = {}  # email -> (id, nickname, password hash), in memory
    metrics.setup(app)
    members.routes(app)
    return app
