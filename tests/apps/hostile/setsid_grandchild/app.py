"""Leaves a grandchild behind: forked, ``setsid()`` (out of the process
group), forked again, and sleeping forever."""

import os
import signal

from flask import Flask
from posthog import Posthog

client = Posthog(os.environ.get("POSTHOG_API_KEY", ""), host=os.environ.get("POSTHOG_HOST"))
app = Flask(__name__)
_escaped: list[int] = []


def _escape() -> int:
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                signal.pause()
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@app.get("/")
def index() -> dict:
    client.capture("page_viewed", distinct_id="u1")
    if not _escaped:
        _escaped.append(_escape())
    return {"escaped": True}
