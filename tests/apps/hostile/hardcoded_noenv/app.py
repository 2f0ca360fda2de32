"""Falls back to the real PostHog host when its variables are unset: the
no-env boot must still land in a mock, never on us.i.posthog.com."""

import os

from flask import Flask
from posthog import Posthog

client = Posthog(
    os.environ.get("POSTHOG_API_KEY", "phc_hostile_hardcoded_test_key"),
    host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
)
client.capture("booted", distinct_id="server")
client.flush()
app = Flask(__name__)


@app.get("/")
def index() -> dict:
    client.capture("page_viewed", distinct_id="u1")
    client.flush()
    return {"ok": True}
