"""Pytest fixtures for a user's own in-process tests of their PostHog integration.

While a test uses them, every ``requests`` call is intercepted (see
:mod:`harness.capture.intercept`): PostHog's go to the mock, anything else is
refused. ``urllib`` and ``httpx`` (``AsyncPosthog``) are not seen. The plugin
serves them to every test suite once the package is installed::

    def test_signup_identifies(app, client, posthog_events):
        client.post("/signup", data={"email": "a@example.com", "name": "Ada", "password": "pw"})
        app.extensions["posthog"].flush()  # the app's own client: no 5 s wait
        person = posthog_events.wait(2) and posthog_events.persons()[0]
        assert person.set["email"] == "a@example.com"

    def test_survives_an_outage(client, posthog_mock):
        posthog_mock.faults.fail_next(status=503)
        ...

Clients built while the mock is active are flushed when the test ends, so
nothing they queued arrives in the next test's mock. Build the app (and its
client) inside the test, or in a fixture that depends on ``posthog_mock``.
"""

from __future__ import annotations

import contextlib
import functools
import typing as t
import weakref

import pytest

if t.TYPE_CHECKING:
    # Imported for types only: this module loads with the plugin in every pytest
    # run, and the mock (responses, requests) is needed only by a test that asks.
    from harness.capture.intercept import InProcessMock
    from harness.capture.records import CapturedEvent
    from harness.capture.store import CaptureStore


class EventsView:
    """A live, read-only view of the events the mock captured (every copy,
    retries included; see :meth:`unique`)."""

    def __init__(self, store: CaptureStore) -> None:
        self.store = store

    def __len__(self) -> int:
        return len(self.store.events())

    def __iter__(self) -> t.Iterator[CapturedEvent]:
        return iter(self.store.events())

    def __getitem__(self, index: int) -> CapturedEvent:
        return self.store.events()[index]

    def __repr__(self) -> str:
        names = [e.event for e in self.store.events()]
        return f"<EventsView {len(names)} events: {names!r}>"

    def unique(self) -> list[CapturedEvent]:
        """One copy per uuid, the acknowledged one when there is one."""
        return self.store.events(unique=True)

    def named(self, event: str, *, unique: bool = False) -> list[CapturedEvent]:
        """Events with that name; every copy (a retried batch arrives twice)
        unless ``unique``."""
        return [e for e in self.store.events(unique=unique) if e.event == event]

    def for_distinct_id(self, distinct_id: str, *, unique: bool = False) -> list[CapturedEvent]:
        return [e for e in self.store.events(unique=unique) if e.distinct_id == distinct_id]

    def persons(self) -> list[CapturedEvent]:
        """Events that carry person properties (``$set`` / ``$set_once``)."""
        return [e for e in self.store.events() if e.set is not None or e.set_once is not None]

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[CapturedEvent]:
        """Wait until at least ``count`` events arrived; fail the test if not.

        The SDK sends from a background thread: call ``client.flush()`` first
        rather than waiting out its flush interval.
        """
        waited = self.store.wait_for(lambda s: len(s.events()) >= count, timeout)
        if not waited.result:
            got = [e.event for e in self.store.events()]
            pytest.fail(
                f"expected at least {count} PostHog event(s) within {timeout}s, got "
                f"{len(got)}: {got!r}. Did the app call client.flush() (or shutdown())?"
            )
        return self.store.events()


@pytest.fixture
def posthog_mock() -> t.Iterator[InProcessMock]:
    """An active in-process PostHog mock, empty at the start of each test."""
    from harness.capture.intercept import intercept

    with intercept() as mock, _clients_built() as clients:
        mock.store.clear()
        yield mock
        for client in list(clients):
            # While the mock still answers: what the test queued lands here,
            # not in whichever test's mock is active when the SDK next sends.
            client.flush()
        mock.store.check()


@contextlib.contextmanager
def _clients_built() -> t.Iterator[weakref.WeakSet[t.Any]]:
    """The PostHog clients constructed while the block runs."""
    from posthog.client import Client

    built: weakref.WeakSet[t.Any] = weakref.WeakSet()
    original: t.Callable[..., None] = Client.__init__

    @functools.wraps(original)
    def init(client: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        original(client, *args, **kwargs)
        built.add(client)

    Client.__init__ = init  # type: ignore[method-assign, assignment]
    try:
        yield built
    finally:
        Client.__init__ = original  # type: ignore[method-assign]


@pytest.fixture
def posthog_events(posthog_mock: InProcessMock) -> EventsView:
    """The events captured during this test."""
    return EventsView(posthog_mock.store)
