"""The in-process front end: ``responses`` routes an app's PostHog traffic to a store.

For an app that runs in the test's own process (a user's Flask test client)::

    with intercept() as mock:
        client = Posthog("phc_test", host="https://us.i.posthog.com")
        client.capture("signed_up", distinct_id="u1")
        client.flush()
        assert [e.event for e in mock.store.events()] == ["signed_up"]

Every URL on every method is matched. A request whose host is PostHog's, or
whose path is one PostHog serves (capture, flags, ``/i/...``, ...), goes to
:meth:`CaptureStore.handle` whatever the host, because apps hardcode
``https://us.i.posthog.com``. Any other request is refused: it is recorded as
``REFUSED`` and raises :class:`requests.ConnectionError` naming the URL, so
nothing leaves the machine.

The SDK sends through ``requests`` sessions whose adapter subclasses
:class:`requests.adapters.HTTPAdapter` without overriding ``send``, which is
what ``responses`` patches: the SDK's traffic is seen. ``AsyncPosthog`` sends
with ``httpx``, which ``responses`` cannot see: use the loopback
:class:`~harness.capture.server.CaptureServer` for it (it sees both).

Delay faults are ignored here (holding the request would block the app's own
thread); a dropped request raises :class:`requests.ConnectionError`.
"""

from __future__ import annotations

import contextlib
import re
import typing as t
import urllib.parse

import requests
import responses

from harness.capture.decode import classify_path
from harness.capture.faults import Faults
from harness.capture.records import CapturedRequest
from harness.capture.records import RequestKind
from harness.capture.store import CaptureStore

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ANY_URL = re.compile(r".*")


class InProcessMock:
    """The active in-process front end: its store and faults."""

    def __init__(self, store: CaptureStore, mock: responses.RequestsMock) -> None:
        self.store = store
        self.responses = mock

    @property
    def faults(self) -> Faults:
        return self.store.faults

    def refused(self) -> list[CapturedRequest]:
        """Requests refused because they were not PostHog's."""
        return [r for r in self.store.requests() if r.kind is RequestKind.REFUSED]


def is_posthog_host(host: str) -> bool:
    """``us.i.posthog.com``, ``eu.posthog.com``, ``app.posthog.com``..."""
    name = host.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    return name == "posthog.com" or name.endswith(".posthog.com")


@contextlib.contextmanager
def intercept(store: CaptureStore | None = None) -> t.Iterator[InProcessMock]:
    """Intercept every ``requests`` call in this process while active."""
    store = store if store is not None else CaptureStore()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        callback = _Router(store)
        for method in _METHODS:
            mock.add_callback(method, _ANY_URL, callback=callback, content_type=None)
        yield InProcessMock(store, mock)


class _Router:
    """The ``responses`` callback: a PostHog request to the store, any other refused."""

    def __init__(self, store: CaptureStore) -> None:
        self.store = store

    def __call__(
        self, request: requests.PreparedRequest
    ) -> tuple[int, dict[str, str], bytes] | Exception:
        try:
            return self._route(request)
        except Exception as exc:  # a bug in the mock: queue it, fail the request loudly
            self.store.record_error(exc)
            return requests.ConnectionError(f"posthog-verify mock failed: {exc!r}")

    def _route(
        self, request: requests.PreparedRequest
    ) -> tuple[int, dict[str, str], bytes] | Exception:
        url = request.url or ""
        parts = urllib.parse.urlsplit(url)
        method = request.method or "GET"
        headers = _str_headers(request.headers)
        body = _body_bytes(request.body)
        path = parts.path or "/"
        if not (is_posthog_host(parts.netloc) or classify_path(path) is not None):
            reason = f"{method} {url} was refused by posthog-verify: not a PostHog request"
            self.store.record_refused(method, url, headers, body, reason)
            return requests.ConnectionError(reason, request=request)
        reply = self.store.handle(
            method, parts.scheme, parts.netloc, path, parts.query, headers, body
        )
        if reply.drop:
            return requests.ConnectionError(
                f"{method} {url}: connection dropped by a posthog-verify fault", request=request
            )
        return reply.status, {"Content-Type": reply.content_type}, reply.body


def _str_headers(headers: t.Mapping[str, str | bytes]) -> dict[str, str]:
    """Header values as text: ``requests`` keeps a value given as bytes as
    bytes; decode it as the HTTP server (``http.client``) would, latin-1."""
    return {k: v if isinstance(v, str) else v.decode("latin-1") for k, v in headers.items()}


def _body_bytes(body: t.Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return bytes(body.read())
    return b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)
