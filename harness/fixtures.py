"""Pytest fixtures for a user's own in-process tests of their PostHog integration.

While a test uses them, every ``requests`` call is intercepted (see
:mod:`harness.capture.interception`): PostHog's go to the mock, anything else is
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
    from harness.capture.interception import InProcessMock
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

    def matching(
        self,
        event: str | None = None,
        *,
        distinct_id: str | None = None,
        properties: t.Mapping[str, t.Any] | None = None,
        unique: bool = True,
    ) -> list[CapturedEvent]:
        """Events with that name and distinct id whose properties include
        ``properties`` (a subset match: nested dicts match by subset too).
        One copy per uuid unless ``unique=False``."""
        return [
            e
            for e in self.store.events(unique=unique)
            if (event is None or e.event == event)
            and (distinct_id is None or e.distinct_id == distinct_id)
            and _contains(e.properties, properties or {})
        ]

    def count(
        self,
        event: str | None = None,
        *,
        distinct_id: str | None = None,
        properties: t.Mapping[str, t.Any] | None = None,
        unique: bool = True,
    ) -> int:
        """How many events match (see :meth:`matching`)."""
        return len(
            self.matching(event, distinct_id=distinct_id, properties=properties, unique=unique)
        )

    def assert_captured(
        self,
        event: str,
        *,
        distinct_id: str | None = None,
        properties: t.Mapping[str, t.Any] | None = None,
        count: int | None = None,
    ) -> list[CapturedEvent]:
        """Fail the test unless a matching event was captured (exactly
        ``count`` of them, when given); the message lists what was captured
        instead. Returns the matches."""
        __tracebackhide__ = True
        found = self.matching(event, distinct_id=distinct_id, properties=properties)
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = "an event" if count is None else f"{count} event(s)"
        pytest.fail(
            f"expected {wanted} {_describe(event, distinct_id, properties)}, "
            f"found {len(found)}. Captured:\n{_listing(self.unique())}",
            pytrace=False,
        )

    def assert_not_captured(
        self,
        event: str,
        *,
        distinct_id: str | None = None,
        properties: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        """Fail the test if any matching event was captured, quoting it."""
        __tracebackhide__ = True
        found = self.matching(event, distinct_id=distinct_id, properties=properties)
        if found:
            pytest.fail(
                f"expected no event {_describe(event, distinct_id, properties)}, "
                f"found {len(found)}:\n{_listing(found)}",
                pytrace=False,
            )

    def wait_for(
        self,
        event: str | None = None,
        *,
        distinct_id: str | None = None,
        properties: t.Mapping[str, t.Any] | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[CapturedEvent]:
        """Wait until ``count`` matching events arrived, at most ``timeout``
        seconds (no fixed sleep: the store wakes the wait on each batch); fail
        the test listing what was captured if they did not."""
        __tracebackhide__ = True

        def arrived(_: CaptureStore) -> bool:
            matches = self.matching(event, distinct_id=distinct_id, properties=properties)
            return len(matches) >= count

        if not self.store.wait_for(arrived, timeout).result:
            found = self.count(event, distinct_id=distinct_id, properties=properties)
            pytest.fail(
                f"expected {count} event(s) {_describe(event, distinct_id, properties)} "
                f"within {timeout}s, found {found}. Did the app call client.flush()? "
                f"Captured:\n{_listing(self.unique())}",
                pytrace=False,
            )
        return self.matching(event, distinct_id=distinct_id, properties=properties)

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


def _contains(actual: t.Any, wanted: t.Any) -> bool:
    """``wanted`` is a subset of ``actual``: dicts by key (recursively), other values equal."""
    if isinstance(wanted, t.Mapping):
        return isinstance(actual, t.Mapping) and all(
            key in actual and _contains(actual[key], value) for key, value in wanted.items()
        )
    return bool(actual == wanted)


def _describe(
    event: str | None, distinct_id: str | None, properties: t.Mapping[str, t.Any] | None
) -> str:
    parts = [repr(event) if event is not None else "of any name"]
    if distinct_id is not None:
        parts.append(f"for distinct_id {distinct_id!r}")
    if properties:
        parts.append(f"with properties including {dict(properties)!r}")
    return " ".join(parts)


_LISTED = 20


def _listing(events: t.Sequence[CapturedEvent]) -> str:
    """One line per event (name, distinct id, properties), at most ``_LISTED``."""
    if not events:
        return "  (nothing)"
    lines = [
        f"  - {e.event!r} distinct_id={e.distinct_id!r} properties="
        + repr({k: v for k, v in e.properties.items() if not k.startswith("$lib")})[:300]
        for e in events[:_LISTED]
    ]
    if len(events) > _LISTED:
        lines.append(f"  ... {len(events) - _LISTED} more")
    return "\n".join(lines)


@pytest.fixture
def posthog_mock() -> t.Iterator[InProcessMock]:
    """An active in-process PostHog mock, empty at the start of each test."""
    from harness.capture.interception import intercept

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
