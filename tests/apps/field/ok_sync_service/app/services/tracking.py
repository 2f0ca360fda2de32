"""The tracking service: the one place that talks to PostHog.

The client is built with ``sync_mode=True``: every call is delivered before it
returns, so nothing is queued when the process stops and no exit hook is needed.
"""

from __future__ import annotations

import os
import typing as t

from posthog import Posthog


class TrackingService:
    """Captures on behalf of the views; they never see the client."""

    def __init__(self, client: Posthog) -> None:
        self._client = client

    @classmethod
    def from_env(cls) -> TrackingService:
        token = os.environ.get("POSTHOG_PROJECT_TOKEN", "")
        return cls(
            Posthog(
                token,
                host=os.environ.get("POSTHOG_HOST", "https://us.i.posthog.com"),
                enable_exception_autocapture=True,
                sync_mode=True,
                disabled=not token,
            )
        )

    def event(self, name: str, distinct_id: str | None, properties: dict[str, t.Any]) -> None:
        self._client.capture(name, distinct_id=distinct_id, properties=properties)

    def person(self, distinct_id: str, properties: dict[str, t.Any]) -> None:
        self._client.set(distinct_id=distinct_id, properties=properties)

    def exception(
        self, error: BaseException, distinct_id: str | None, properties: dict[str, t.Any]
    ) -> None:
        self._client.capture_exception(error, distinct_id=distinct_id, properties=properties)
