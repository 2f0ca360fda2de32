"""Ignores SIGTERM, with events still held when the harness kills it.

Each request captures twice: through a client that sends at once, and
through one that holds its batch for a minute. At the stop deadline the
held events are on their way, not dropped: no_silent_drops cannot judge
them (and the delivered ones show the kill came after delivery began).
"""

import os
import signal

from flask import Flask
from flask import request
from posthog import Posthog

signal.signal(signal.SIGTERM, signal.SIG_IGN)

KEY = os.environ.get("POSTHOG_PROJECT_API_KEY", "")
HOST = os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com")
sent_now = Posthog(KEY, host=HOST, sync_mode=True)
held = Posthog(KEY, host=HOST, flush_at=1000, flush_interval=60)

app = Flask(__name__)


@app.get("/")
def index() -> str:
    visitor = request.headers.get("X-POSTHOG-DISTINCT-ID", "anonymous")
    sent_now.capture("page_viewed", distinct_id=visitor)
    held.capture("page_viewed_later", distinct_id=visitor)
    return "ok"
