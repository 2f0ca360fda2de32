"""``distinct_id_from_header`` and ``session_id_from_header``.

The frontend's ``X-POSTHOG-DISTINCT-ID`` and ``X-POSTHOG-SESSION-ID`` headers
tie backend events to the same person and session replay. Every event made
while serving a request that carried a header must carry its value::

    distinct_id_from_header(run).status   # PASS when anonymous events follow the header

The Flask integration does this by itself; ``new_context`` with
``identify_context``/``set_context_session`` in a request hook, or passing the
values to each call, does too. Either way the events show it.
"""

from __future__ import annotations

import typing as t

from harness.checks._events import events_by_exchange
from harness.checks._events import evidence
from harness.checks._events import exchange_map
from harness.checks._events import plural
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.capture.records import CapturedEvent
    from harness.run import Exchange
    from harness.run import Run

# Requests during which the app is expected to change who the user is.
_IDENTITY_KINDS = frozenset({"signup", "login", "logout"})
# Events the SDK makes itself (person and alias updates, the event a flag
# evaluation sends): it only adds $session_id to them inside a context, and the
# app passes them no properties, so they cannot fail the session check.
_SDK_EVENTS = frozenset(
    {"$set", "$set_once", "$create_alias", "$groupidentify", "$feature_flag_called"}
)


def _anonymous_with_header(run: Run) -> list[Exchange]:
    return [
        x
        for x in run.exchanges
        if x.distinct_id_header and x.user == "anonymous" and x.kind not in _IDENTITY_KINDS
    ]


def distinct_id_from_header(run: Run) -> Result:
    """Events of anonymous requests carry the ``X-POSTHOG-DISTINCT-ID`` sent."""
    check = "distinct_id_from_header"
    grouped = events_by_exchange(run)
    seen = 0
    items = []
    for exchange in _anonymous_with_header(run):
        for event in grouped.get(exchange.index, []):
            seen += 1
            if event.distinct_id != exchange.distinct_id_header:
                items.append(
                    evidence(
                        event=event,
                        exchange=exchange,
                        header=exchange.distinct_id_header,
                        note=f"sent {exchange.distinct_id_header!r}, "
                        f"the event has {event.distinct_id!r}",
                    )
                )
    if not seen:
        return result(
            check,
            Status.FAIL,
            "no event was produced during any anonymous request carrying X-POSTHOG-DISTINCT-ID",
        )
    if items:
        return result(
            check,
            Status.FAIL,
            f"{len(items)} of {plural(seen, 'event')} of anonymous requests ignore "
            f"X-POSTHOG-DISTINCT-ID (e.g. {items[0]['event']} has {items[0].get('distinct_id')!r})",
            items,
        )
    return result(check, Status.PASS, f"all {plural(seen, 'event')} carry the header's distinct id")


def _session_values(event: CapturedEvent) -> list[t.Any]:
    values = [event.properties.get("$session_id")]
    for part in (event.set, event.set_once):
        if part:
            values.append(part.get("$session_id"))
    return [value for value in values if value is not None]


def _nothing_to_judge(run: Run, skipped: list[str]) -> str:
    """Why no event could be judged, as it really was: only the SDK's own
    events, or events that arrived outside any request, or none at all."""
    header = "X-POSTHOG-SESSION-ID"
    if skipped:
        names = ", ".join(sorted(set(skipped)))
        return (
            f"only the SDK's own events ({plural(len(skipped), 'event')}: {names}), which need "
            f"not carry $session_id, were produced during requests carrying {header}: "
            "no event of the app's to judge"
        )
    attributed = exchange_map(run)
    outside = [e for e in unique_events(run) if e.uuid is None or e.uuid not in attributed]
    if outside:
        return (
            f"no event was attributed to a request carrying {header}: "
            f"{plural(len(outside), 'event')} arrived outside any request "
            "(made at boot or by a background thread)"
        )
    return f"no event was produced during any request carrying {header}"


def session_id_from_header(run: Run) -> Result:
    """Events of requests carrying ``X-POSTHOG-SESSION-ID`` have it as ``$session_id``."""
    check = "session_id_from_header"
    grouped = events_by_exchange(run)
    seen = 0
    skipped: list[str] = []
    items = []
    for exchange in (x for x in run.exchanges if x.session_id_header):
        for event in grouped.get(exchange.index, []):
            values = _session_values(event)
            if not values and event.event in _SDK_EVENTS:
                skipped.append(event.event)
                continue
            seen += 1
            if exchange.session_id_header not in values:
                shown = values[0] if values else None
                items.append(
                    evidence(
                        event=event,
                        exchange=exchange,
                        path="properties.$session_id",
                        value=shown if values else "(missing)",
                        header=exchange.session_id_header,
                    )
                )
    if not seen:
        return result(check, Status.FAIL, _nothing_to_judge(run, skipped))
    if items:
        return result(
            check,
            Status.FAIL,
            f"{len(items)} of {plural(seen, 'event')} lack the header's $session_id "
            f"(e.g. {items[0]['event']}: {items[0]['value']!r})",
            items,
        )
    return result(check, Status.PASS, f"all {plural(seen, 'event')} carry the header's $session_id")
