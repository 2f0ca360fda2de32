"""The capture store: every request both front ends saw, and its events.

Front ends call :meth:`CaptureStore.handle` from their own threads; readers
wait on the store's condition with a deadline, never on a sleep::

    store = CaptureStore()
    reply = store.handle("POST", "http", "127.0.0.1:8000", "/batch/", "", headers, body)
    waited = store.wait_for(lambda s: len(s.events()) >= 3, timeout=5.0)
    assert waited.result, f"only {len(store.events())} events after {waited.elapsed_s:.1f}s"
    store.check()  # re-raise anything that blew up inside a front end's thread

What the store keeps is bounded per store (one store serves one app): the raw
bodies and the decoded events count against ``budget_bytes``. Past it, a
request is still recorded (method, path, headers, status: what the SDK was
answered does not change) but with an empty body, ``truncated=True`` and its
events left out; :attr:`CaptureStore.overflow` says how much was lost, so the
checks that need those events can report ``error`` rather than a verdict on
partial data.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import typing as t

from harness.capture.answers import Reply
from harness.capture.answers import answer
from harness.capture.decode import decode_request
from harness.capture.faults import Faults
from harness.capture.records import ORIGINAL_HOST_HEADER
from harness.capture.records import STATUS_DROPPED
from harness.capture.records import CapturedEvent
from harness.capture.records import CapturedRequest
from harness.capture.records import RequestKind
from harness.limits import DEFAULT_BUDGET_BYTES


@dataclasses.dataclass(frozen=True)
class Overflow:
    """What the store did not keep once its budget was spent."""

    budget_bytes: int
    requests: int
    bytes: int
    events: int

    def __str__(self) -> str:
        return (
            f"the mock's budget of {self.budget_bytes} bytes per app was spent: "
            f"{self.requests} request(s) ({self.bytes} bytes, {self.events} event(s)) not kept"
        )


@dataclasses.dataclass(frozen=True)
class Waiting:
    """The outcome of :meth:`CaptureStore.wait_for`."""

    result: bool
    elapsed_s: float


class CaptureStore:
    """Thread-safe record of requests and events, with fault injection.

    One re-entrant lock guards everything; its :class:`threading.Condition`
    is notified on every new record, so a ``wait_for`` predicate may call the
    readers (it runs with the lock held).
    """

    def __init__(
        self, faults: Faults | None = None, *, budget_bytes: int = DEFAULT_BUDGET_BYTES
    ) -> None:
        self.faults = faults if faults is not None else Faults()
        self.budget_bytes = budget_bytes
        self._cond = threading.Condition(threading.RLock())
        self._requests: list[CapturedRequest] = []
        self._events: list[CapturedEvent] = []
        self._errors: list[BaseException] = []
        self._kept_bytes = 0
        self._overflow: Overflow | None = None

    # --- writers (front ends) -------------------------------------------------

    def handle(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query: str,
        headers: t.Mapping[str, str],
        body: bytes,
        *,
        original_host: str | None = None,
    ) -> Reply:
        """Decode, apply faults, record, and say what to answer."""
        headers = dict(headers)
        decoded = decode_request(method, path, query, headers, body)
        outcome = self.faults.apply(decoded.kind)
        status = 400 if decoded.kind is RequestKind.MALFORMED else (outcome.status or 200)
        if outcome.drop:
            status = STATUS_DROPPED
        original_host = original_host or _header(headers, ORIGINAL_HOST_HEADER)
        request = self._new_request(
            method, scheme, host, path, query, headers, body, status, decoded.kind
        )
        request = dataclasses.replace(request, original_host=original_host, error=decoded.error)
        events = [
            CapturedEvent(
                **e, host=host, path=path, request_seq=request.seq, acknowledged=status == 200
            )
            for e in decoded.events
        ]
        self._append(request, events)
        reply = answer(decoded, path, status if status != STATUS_DROPPED else 200)
        return dataclasses.replace(reply, delay_s=outcome.delay_s, drop=outcome.drop)

    def record_refused(
        self, method: str, url: str, headers: t.Mapping[str, str], body: bytes, reason: str
    ) -> CapturedRequest:
        """Record a request the in-process front end refused (a non-PostHog URL)."""
        scheme, _, rest = url.partition("://")
        host, _, path_query = rest.partition("/")
        path, _, query = ("/" + path_query).partition("?")
        request = self._new_request(
            method,
            scheme,
            host,
            path,
            query,
            dict(headers),
            body,
            STATUS_DROPPED,
            RequestKind.REFUSED,
        )
        request = dataclasses.replace(request, error=reason)
        self._append(request, [])
        return request

    def record_malformed(
        self,
        method: str,
        host: str,
        path: str,
        headers: t.Mapping[str, str],
        body: bytes,
        reason: str,
        *,
        scheme: str = "http",
        query: str = "",
        status: int = 400,
    ) -> CapturedRequest:
        """Record a request that could not even be read as HTTP (a bad request
        line, a wrong Content-Length, a truncated body)."""
        request = self._new_request(
            method, scheme, host, path, query, dict(headers), body, status, RequestKind.MALFORMED
        )
        request = dataclasses.replace(request, error=reason)
        self._append(request, [])
        return request

    def record_error(self, exc: BaseException) -> None:
        """Queue an exception raised inside a front end's thread for :meth:`check`."""
        with self._cond:
            self._errors.append(exc)
            self._cond.notify_all()

    # --- readers ----------------------------------------------------------------

    def requests(self, kind: RequestKind | None = None) -> list[CapturedRequest]:
        with self._cond:
            return [r for r in self._requests if kind is None or r.kind is kind]

    def events(
        self, *, acknowledged_only: bool = False, unique: bool = False
    ) -> list[CapturedEvent]:
        """Events in arrival order.

        :param acknowledged_only: only those whose request was answered 200.
        :param unique: one per uuid (events without a uuid all kept),
            preferring the first acknowledged copy, else the first copy.
        """
        with self._cond:
            events = list(self._events)
        if acknowledged_only:
            events = [e for e in events if e.acknowledged]
        return _unique(events) if unique else events

    @property
    def kept_bytes(self) -> int:
        """Bytes of bodies and events kept so far (what counts against the budget)."""
        with self._cond:
            return self._kept_bytes

    @property
    def overflow(self) -> Overflow | None:
        """What was not kept past the budget; None while everything fits."""
        with self._cond:
            return self._overflow

    @property
    def handler_errors(self) -> list[BaseException]:
        with self._cond:
            return list(self._errors)

    def check(self) -> None:
        """Raise (and forget) what went wrong inside a front end's thread."""
        with self._cond:
            errors, self._errors = self._errors, []
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BaseExceptionGroup("errors inside the capture mock's threads", errors)

    def wait_for(self, predicate: t.Callable[[CaptureStore], bool], timeout: float) -> Waiting:
        """Wait until ``predicate(store)`` holds or ``timeout`` seconds pass."""
        start = time.monotonic()
        with self._cond:
            result = self._cond.wait_for(lambda: predicate(self), timeout=timeout)
        return Waiting(result=bool(result), elapsed_s=time.monotonic() - start)

    def clear(self) -> None:
        """Forget every record and error, and disarm the faults."""
        with self._cond:
            self._requests.clear()
            self._events.clear()
            self._errors.clear()
            self._kept_bytes, self._overflow = 0, None
            self.faults.reset()
            self._cond.notify_all()

    # --- internals --------------------------------------------------------------

    def _new_request(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        status: int,
        kind: RequestKind,
    ) -> CapturedRequest:
        # seq is fixed in _append under the lock; -1 marks "not yet stored".
        return CapturedRequest(
            seq=-1,
            method=method.upper(),
            scheme=scheme,
            host=host,
            path=path,
            query=query,
            headers=headers,
            body=bytes(body),
            status=status,
            kind=kind,
            received_at=time.time(),
        )

    def _append(self, request: CapturedRequest, events: list[CapturedEvent]) -> None:
        cost = len(request.body)
        if cost + self.kept_bytes <= self.budget_bytes:  # else no need to measure the events
            cost += _size_of(events)  # measured outside the lock
        with self._cond:
            if self._kept_bytes + cost > self.budget_bytes:
                request, events = self._over_budget(request, events, cost)
            else:
                self._kept_bytes += cost
            seq = len(self._requests)
            self._requests.append(dataclasses.replace(request, seq=seq))
            self._events.extend(dataclasses.replace(e, request_seq=seq) for e in events)
            self._cond.notify_all()

    def _over_budget(
        self, request: CapturedRequest, events: list[CapturedEvent], cost: int
    ) -> tuple[CapturedRequest, list[CapturedEvent]]:
        """The request as recorded once the budget is spent (lock held)."""
        was = self._overflow or Overflow(self.budget_bytes, 0, 0, 0)
        self._overflow = dataclasses.replace(
            was, requests=was.requests + 1, bytes=was.bytes + cost, events=was.events + len(events)
        )
        return dataclasses.replace(request, body=b"", truncated=True), []


def _size_of(events: list[CapturedEvent]) -> int:
    """About what the decoded events occupy: their JSON length."""
    if not events:
        return 0
    parts = [(e.event, e.distinct_id, e.properties, e.set, e.set_once, e.uuid) for e in events]
    return len(json.dumps(parts, default=str))


def _header(headers: t.Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _unique(events: list[CapturedEvent]) -> list[CapturedEvent]:
    chosen: dict[str, int] = {}
    out: list[CapturedEvent | None] = []
    for event in events:
        if event.uuid is None:
            out.append(event)
            continue
        at = chosen.get(event.uuid)
        if at is None:
            chosen[event.uuid] = len(out)
            out.append(event)
        elif event.acknowledged and not t.cast(CapturedEvent, out[at]).acknowledged:
            out[at] = event
    return [e for e in out if e is not None]
