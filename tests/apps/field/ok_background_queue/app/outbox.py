"""A small in-process outbox: views never wait for analytics.

Calls are resolved in the request (who, which session) and handed to one worker
thread, which makes the SDK call. ``close`` drains it and shuts the client down.
"""

from __future__ import annotations

import queue
import threading
import typing as t

from posthog import Posthog

_STOP = object()


class Outbox:
    """A queue of (method, kwargs) and the thread that sends them."""

    def __init__(self, client: Posthog) -> None:
        self._client = client
        self._queue: queue.Queue[t.Any] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="analytics-outbox", daemon=True)
        self._worker.start()

    def put(self, method: str, *args: t.Any, **kwargs: t.Any) -> None:
        self._queue.put((method, args, kwargs))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            method, args, kwargs = item
            getattr(self._client, method)(*args, **kwargs)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._worker.join(timeout=5)
        self._client.shutdown()
