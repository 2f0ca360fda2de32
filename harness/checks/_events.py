"""Shared helpers for the checks: attribution, dedup, walking, redaction, evidence.

Every check reads the same few derived views of a :class:`~harness.run.Run`
(the delivered events once each, which exchange produced an event, every leaf
of a property tree with its path), so they are computed here, once, purely::

    by_uuid = exchange_map(run)
    for event in unique_events(run):
        exchange = by_uuid.get(event.uuid)
        for path, value in walk(event.properties, "properties"):
            ...

Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import re
import typing as t

from harness.capture.records import CapturedEvent
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Exchange
    from harness.run import Run
    from harness.run import SourceLocation

# Keys the SDK's contexts copy into ``$set``: they are not person properties.
_CONTEXT_KEYS = frozenset({"$context_tags", "$session_id"})

_KEY_LIKE = re.compile(r"phc_[A-Za-z0-9_\-]+")

#: Events the SDK sends by itself, as a side effect of another call (a flag
#: evaluation): not a call the app made, and not a product event of the user.
SDK_EVENTS = frozenset({"$feature_flag_called", "$experiment_exposure"})

# How many evidence items a result quotes before it only counts the rest.
MAX_EVIDENCE = 20


def unique_events(run: Run) -> list[CapturedEvent]:
    """The captured events once each, in arrival order.

    The SDK retries a batch the mock refused, so one uuid can arrive twice;
    the acknowledged copy wins because it is the one PostHog would keep.
    Events without a uuid cannot be matched, so each counts on its own.
    """
    chosen: dict[str, CapturedEvent] = {}
    order: list[str | int] = []
    loose: dict[int, CapturedEvent] = {}
    for index, event in enumerate(run.events):
        if event.uuid is None:
            loose[index] = event
            order.append(index)
        elif event.uuid not in chosen:
            chosen[event.uuid] = event
            order.append(event.uuid)
        elif event.acknowledged and not chosen[event.uuid].acknowledged:
            chosen[event.uuid] = event
    return [chosen[key] if isinstance(key, str) else loose[key] for key in order]


def acknowledged_uuids(run: Run) -> set[str]:
    """Uuids of events that arrived in a batch the mock answered 200."""
    return {e.uuid for e in run.events if e.uuid is not None and e.acknowledged}


def steps_by_uuid(run: Run) -> dict[str, int | None]:
    """Event uuid -> index of the exchange being served when it was made.

    Enqueued messages are the primary record (what the SDK really queued);
    capture calls fill in a uuid the queue record missed.
    """
    steps: dict[str, int | None] = {}
    for call in run.capture_calls:
        if call.uuid is not None:
            steps[call.uuid] = call.step
    for message in run.enqueued:
        steps[message.uuid] = message.step
    return steps


def exchange_by_index(run: Run) -> dict[int, Exchange]:
    return {exchange.index: exchange for exchange in run.exchanges}


def exchange_map(run: Run) -> dict[str, Exchange]:
    """Event uuid -> the exchange that produced it (boot/background events absent)."""
    known = exchange_by_index(run)
    return {
        uuid: known[step]
        for uuid, step in steps_by_uuid(run).items()
        if step is not None and step in known
    }


def events_by_exchange(run: Run) -> dict[int, list[CapturedEvent]]:
    """Exchange index -> the unique events it produced, in arrival order."""
    by_uuid = exchange_map(run)
    grouped: dict[int, list[CapturedEvent]] = {e.index: [] for e in run.exchanges}
    for event in unique_events(run):
        exchange = by_uuid.get(event.uuid) if event.uuid is not None else None
        if exchange is not None:
            grouped[exchange.index].append(event)
    return grouped


def walk(value: t.Any, path: str) -> t.Iterator[tuple[str, t.Any]]:
    """Yield ``(path, leaf)`` for every scalar in a nested value.

    Paths read like ``properties.a.b[2]``; dict keys are yielded too (as
    ``(path + "{key}", key)``) since a key can carry data as well.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            yield f"{child}{{key}}", key
            yield from walk(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def person_properties(event: CapturedEvent) -> dict[str, t.Any]:
    """The event's ``$set`` and ``$set_once`` merged, without context keys."""
    merged: dict[str, t.Any] = {}
    for part in (event.set_once, event.set):
        if part:
            merged.update({k: v for k, v in part.items() if k not in _CONTEXT_KEYS})
    return merged


def is_personless(event: CapturedEvent) -> bool:
    return event.properties.get("$process_person_profile") is False


def redact_token(token: str | None) -> str | None:
    """A token as evidence may show it: the first 8 characters."""
    if token is None or len(token) <= 8:
        return token
    return token[:8] + "…"


def redact_keys_in(text: str) -> str:
    """Redact every ``phc_`` literal key in a source line to its first 6 chars."""
    return _KEY_LIKE.sub(lambda m: m.group(0)[:6] + "…", text)


def shorten(text: str, start: int, end: int, context: int = 24) -> str:
    """Show the match ``text[start:end]`` with a little context, marked «».

    Long values are cut so that evidence stays readable in a terminal.
    """
    head = text[max(0, start - context) : start]
    tail = text[end : end + context]
    prefix = "…" if start - context > 0 else ""
    suffix = "…" if end + context < len(text) else ""
    return f"{prefix}{head}«{text[start:end]}»{tail}{suffix}"


def describe(exchange: Exchange | None) -> str | None:
    """An exchange as evidence reads it: ``POST /signup (step 3: signup)``."""
    if exchange is None:
        return None
    return f"{exchange.method} {exchange.path} (step {exchange.index}: {exchange.step})"


def evidence(
    *,
    event: CapturedEvent | str | None = None,
    exchange: Exchange | None = None,
    location: SourceLocation | str | None = None,
    note: str | None = None,
    **fields: t.Any,
) -> dict[str, t.Any]:
    """One evidence dict with the report's keys; empty fields are left out.

    Pass a captured ``event`` to quote its name, uuid and distinct id (or just
    an event name); extra keyword arguments (``path``, ``value``...) are
    copied as they are.
    """
    item: dict[str, t.Any] = {}
    if isinstance(event, CapturedEvent):
        item.update(event=event.event, uuid=event.uuid, distinct_id=event.distinct_id)
    elif event is not None:
        item["event"] = event
    item.update(fields)
    item["request"] = describe(exchange)
    item["location"] = str(location) if location is not None else None
    item["note"] = note
    return {key: value for key, value in item.items() if value is not None}


def capped(items: t.Sequence[dict[str, t.Any]]) -> tuple[dict[str, t.Any], ...]:
    """At most :data:`MAX_EVIDENCE` items, plus one saying how many were left out."""
    if len(items) <= MAX_EVIDENCE:
        return tuple(items)
    rest = len(items) - MAX_EVIDENCE
    return (*items[:MAX_EVIDENCE], {"note": f"and {rest} more not shown"})


def result(
    check_id: str,
    status: Status,
    summary: str,
    items: t.Sequence[dict[str, t.Any]] = (),
) -> Result:
    return Result(check_id, status, summary, capped(items))


def plural(count: int, noun: str) -> str:
    """``1 event``, ``3 events``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
