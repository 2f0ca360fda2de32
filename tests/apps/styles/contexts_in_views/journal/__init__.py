import atexit
import os

from flask import Flask


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.getenv("SECRET_KEY", "journal")

    from posthog import Posthog

    token = os.getenv("POSTHOG_PROJECT_TOKEN")
    client = Posthog(
        token or "",
        host=os.getenv("POSTHOG_HOST"),
        enable_exception_autocapture=True,
        disabled=not token,
    )
    atexit.register(client.shutdown)
    app.extensions["posthog"] = client

    from journal import views

    app.register_blueprint(views.bp)
    views.register_errors(app)
    return app
