"""``exception_captured``: an exception raised in a view becomes one ``$exception``.

The harness's probe route raises ``PosthogVerifyProbeError(<probe canary>)``;
the manifest may name error routes of the app's own (kind ``error``). For each
such exchange there must be exactly one ``$exception`` event, of the raised
type (probe only), carrying the probe canary (probe only), with the request's
distinct id, and the app must still answer 5xx::

    exception_captured(run).summary   # "the probe's exception became one $exception event"

Any correct style passes: the Flask integration, ``capture_exception`` in an
error handler, or a per-request ``new_context()``; the check reads events.
"""

from __future__ import annotations

import typing as t

from harness.checks._events import describe
from harness.checks._events import events_by_exchange
from harness.checks._events import evidence
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.capture.records import CapturedEvent
    from harness.run import Exchange
    from harness.run import Run

CHECK = "exception_captured"
PROBE_TYPE = "PosthogVerifyProbeError"
_ANONYMOUS_KINDS = frozenset({"browse", "api", "probe", "error", "other"})


def exception_type(event: CapturedEvent) -> str | None:
    """The outermost exception's type, from ``$exception_list`` or the legacy key."""
    first = _first_exception(event)
    if first is not None and first.get("type"):
        return str(first["type"])
    legacy = event.properties.get("$exception_type")
    return None if legacy is None else str(legacy)


def exception_message(event: CapturedEvent) -> str:
    first = _first_exception(event)
    if first is not None and first.get("value") is not None:
        return str(first["value"])
    return str(event.properties.get("$exception_message") or "")


def _first_exception(event: CapturedEvent) -> dict[str, t.Any] | None:
    listing = event.properties.get("$exception_list")
    if isinstance(listing, list) and listing and isinstance(listing[0], dict):
        return listing[0]
    return None


def follows_header(run: Run) -> bool:
    """Whether any event of an anonymous exchange carried the distinct-id header sent.

    When the app follows the header nowhere, a wrong distinct id on the
    ``$exception`` is that check's failure, not this one's.
    """
    grouped = events_by_exchange(run)
    for exchange in run.exchanges:
        header = exchange.distinct_id_header
        if not header or exchange.user != "anonymous" or exchange.kind not in _ANONYMOUS_KINDS:
            continue
        if any(event.distinct_id == header for event in grouped.get(exchange.index, [])):
            return True
    return False


def _exceptions_for(
    run: Run, exchange: Exchange, grouped: dict[int, list[CapturedEvent]]
) -> list[CapturedEvent]:
    found = [e for e in grouped.get(exchange.index, []) if e.event == "$exception"]
    canary = run.canaries.probe if run.canaries else ""
    if exchange.kind == "probe" and canary:
        # A $exception sent from outside the request (e.g. sys.excepthook in a
        # worker thread) has no step, but the probe canary names it.
        seen = {e.uuid for e in found}
        found.extend(
            event
            for event in unique_events(run)
            if event.event == "$exception"
            and event.uuid not in seen
            and canary in exception_message(event)
        )
    return found


def _problems(
    run: Run, exchange: Exchange, found: list[CapturedEvent], check_id: bool
) -> list[dict[str, t.Any]]:
    """What is wrong with one probe/error exchange, as evidence items."""
    items: list[dict[str, t.Any]] = []
    if exchange.status is not None and exchange.status < 500:
        items.append(
            evidence(
                exchange=exchange,
                status=exchange.status,
                note=f"the app answered {exchange.status}: the error was swallowed, "
                "expected its own 5xx",
            )
        )
    if len(found) > 1:
        uuids = ", ".join(str(e.uuid) for e in found)
        items.extend(
            evidence(event=e, exchange=exchange, note=f"duplicate $exception ({uuids})")
            for e in found
        )
    if len(found) != 1:
        return items
    event = found[0]
    if exchange.kind == "probe":
        kind = exception_type(event)
        if kind != PROBE_TYPE:
            items.append(
                evidence(
                    event=event,
                    exchange=exchange,
                    value=kind,
                    note=f"exception type {kind!r}, expected {PROBE_TYPE}",
                )
            )
        canary = run.canaries.probe if run.canaries else ""
        if canary and canary not in exception_message(event):
            items.append(
                evidence(
                    event=event,
                    exchange=exchange,
                    value=exception_message(event),
                    note="the message does not carry the probe's message",
                )
            )
    header = exchange.distinct_id_header
    if check_id and header and event.distinct_id != header:
        items.append(
            evidence(
                event=event,
                exchange=exchange,
                header=header,
                note=f"distinct id {event.distinct_id!r}, the request sent {header!r}",
            )
        )
    return items


def _nothing_found(
    run: Run, exchange: Exchange, grouped: dict[int, list[CapturedEvent]]
) -> list[dict[str, t.Any]]:
    later = [
        evidence(event=e, exchange=x, note="seen after the probe")
        for x in run.exchanges
        if x.index >= exchange.index
        for e in grouped.get(x.index, [])
    ]
    return [evidence(exchange=exchange, note="no $exception event for this request"), *later]


def _raised(run: Run, targets: list[Exchange]) -> tuple[list[Exchange], list[Exchange]]:
    """The requests that reached a raising view, and the probes that did not.

    A probe is judged only where its view ran (when that was recorded); the
    app's own error routes are always judged, since nothing records them.
    """
    if run.probe_entered is None:
        return targets, []
    entered = set(run.probe_entered)
    blocked = [x for x in targets if x.kind == "probe" and x.index not in entered]
    return [x for x in targets if x not in blocked], blocked


def exception_captured(run: Run) -> Result:
    """Exactly one ``$exception`` per raising request, typed, identified, and a 5xx."""
    # The requests the scenario made, not the redirects followed after them.
    targets = [x for x in run.exchanges if x.kind in ("probe", "error") and x.redirect_of is None]
    if not targets:
        reason = run.steps_skipped.get("probe") or "the probe route could not be added"
        return result(CHECK, Status.SKIP, reason)
    targets, blocked = _raised(run, targets)
    if not targets:
        first = blocked[0]
        return result(
            CHECK,
            Status.ERROR,
            f"not judged: the app answered {describe(first)} with {first.status} before the "
            "probe's view ran (a login guard?); name a route that raises in the manifest's "
            "[errors] paths",
        )
    unanswered = [x for x in targets if x.status is None]
    if unanswered:
        first = unanswered[0]
        return result(
            CHECK,
            Status.ERROR,
            f"not judged: {describe(first)} got no answer ({first.error or 'no response'})",
        )
    grouped = events_by_exchange(run)
    check_id = follows_header(run)
    items: list[dict[str, t.Any]] = []
    summaries: list[str] = []
    for exchange in targets:
        found = _exceptions_for(run, exchange, grouped)
        problems = _problems(run, exchange, found, check_id)
        if not found:
            problems = _nothing_found(run, exchange, grouped) + problems
            why = run.propagated.get(exchange.index)
            because = (
                f" ({why}: Flask re-raises the view's exception, so the app's error "
                "handlers do not run; production config must not propagate)"
                if why
                else ""
            )
            summaries.append(
                f"{exchange.method} {exchange.path} raised but no $exception arrived{because}"
            )
        elif problems:
            summaries.append(f"{exchange.method} {exchange.path}: {problems[0]['note']}")
        items.extend(problems)
    if items:
        return result(CHECK, Status.FAIL, "; ".join(summaries), items)
    return result(
        CHECK,
        Status.PASS,
        f"each of {len(targets)} raising request(s) became one $exception event and a 5xx",
    )
