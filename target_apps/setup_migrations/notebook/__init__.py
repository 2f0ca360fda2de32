"""Notebook: Flask-SQLAlchemy models whose tables come only from migrations.

The database is created by ``flask db upgrade`` (Flask-Migrate), never at
start-up: a fresh checkout answers 500 on signup until the migrations ran.
``DATABASE_URL`` picks the database (``sqlite:///notebook.db`` in the
instance folder by default).
"""

from __future__ import annotations

import os

from flask import Flask

from notebook.models import db
from notebook.tracking import tracker


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "notebook-dev")
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///notebook.db")
    db.init_app(app)
    from flask_migrate import Migrate

    Migrate(app, db)
    tracker.init_app(app)

    from notebook import views

    app.register_blueprint(views.bp)
    return app
