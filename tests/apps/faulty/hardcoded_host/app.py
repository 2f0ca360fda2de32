"""Hardcodes the real PostHog host: its batches must land in the mock anyway."""

import atexit

from flask import Flask
from posthog import Posthog

client = Posthog("phc_hardcoded_test_key", host="https://us.i.posthog.com")
atexit.register(client.shutdown)

app = Flask(__name__)


@app.get("/")
def index() -> dict:
    uuid = client.capture("hardcoded_event", distinct_id="u1")
    client.flush()
    return {"uuid": uuid}
