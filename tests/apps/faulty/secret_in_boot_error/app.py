"""Its boot error quotes its secrets: the database URL with a password, the
Flask SECRET_KEY and the PostHog token, on stderr and in the exception."""

import os
import sys

from flask import Flask
from posthog import Posthog

DATABASE_URL = os.environ.get("DATABASE_URL", "")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
TOKEN = os.environ.get("POSTHOG_API_KEY", "")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET_KEY
    app.extensions["posthog"] = Posthog(TOKEN, host=os.environ.get("POSTHOG_HOST"))
    print(f"connecting: DATABASE_URL={DATABASE_URL} SECRET_KEY={SECRET_KEY}", file=sys.stderr)
    raise RuntimeError(f"no database at {DATABASE_URL} (key {SECRET_KEY}, token {TOKEN})")
