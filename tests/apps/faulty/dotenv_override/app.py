"""Loads a .env with override=True: the harness's injected values must still win."""

import os

from dotenv import load_dotenv
from flask import Flask
from posthog import Posthog

load_dotenv(override=True)

app = Flask(__name__)
client = Posthog(os.environ.get("POSTHOG_PROJECT_TOKEN", ""), host=os.environ.get("POSTHOG_HOST"))


@app.get("/")
def index() -> dict[str, str | None]:
    client.capture("page_viewed", distinct_id="someone")
    return {
        "token": os.environ.get("POSTHOG_PROJECT_TOKEN"),
        "extra": os.environ.get("POSTHOG_FROM_DOTENV_ONLY"),
    }
