"""A small notes app: sign up, log in, write notes; analytics through an extension object.

Configuration comes from the environment (``SECRET_KEY``, ``DATABASE``,
``POSTHOG_PROJECT_TOKEN``, ``POSTHOG_HOST``), read into ``app.config``.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from flask import Flask
from flask import render_template

from app.extensions import analytics_ext


def create_app(test_config: dict[str, t.Any] | None = None) -> Flask:
    """Build the app; ``test_config`` overrides the environment."""
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev"),
        DATABASE=os.environ.get("DATABASE", str(Path(app.instance_path) / "app.sqlite")),
        POSTHOG_PROJECT_TOKEN=os.environ.get("POSTHOG_PROJECT_TOKEN", ""),
        POSTHOG_HOST=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    from app import analytics
    from app import db

    db.init_app(app)
    analytics_ext.init_app(app)

    from app import api
    from app import pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("404.html"), 404

    @app.errorhandler(500)
    def internal_error(error: Exception) -> tuple[str, int]:
        analytics.capture_exception(getattr(error, "original_exception", None) or error)
        return render_template("500.html"), 500

    return app
