import atexit
import os

from flask import Flask
from posthog import Posthog


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "flaskr.sqlite"),
        POSTHOG_API_KEY=os.environ.get("POSTHOG_API_KEY"),
        POSTHOG_HOST=os.environ.get("POSTHOG_HOST", "https://eu.i.posthog.com"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)

    key = app.config["POSTHOG_API_KEY"]
    posthog_client = Posthog(
        key or "",
        host=app.config["POSTHOG_HOST"],
        enable_exception_autocapture=True,
        disabled=not key,
    )
    app.extensions["posthog"] = posthog_client
    atexit.register(posthog_client.shutdown)

    from . import db

    db.init_app(app)
    with app.app_context():
        db.init_db_if_needed()

    from . import auth, blog, analytics

    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    app.add_url_rule("/", endpoint="index")

    @app.errorhandler(500)
    def internal_error(e):
        analytics.capture_exception(getattr(e, "original_exception", None) or e)
        return "Internal Server Error", 500

    return app
