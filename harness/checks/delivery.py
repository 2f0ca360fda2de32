"""Delivery checks: ``flush_on_shutdown`` and ``no_silent_drops``.

Both compare what the app asked for with what reached the mock, by uuid:
every message the SDK queued must arrive acknowledged once the process has
stopped (the mock refuses the first batch after the stop signal, so only a
registered ``shutdown()`` gets the events out), and every event-producing
call must have returned a uuid that arrived::

    flush_on_shutdown(run).evidence   # the missing uuids, with event names
"""

from __future__ import annotations

import collections
import typing as t

from harness.capture.records import RequestKind
from harness.checks._events import SDK_EVENTS
from harness.checks._events import acknowledged_uuids
from harness.checks._events import evidence
from harness.checks._events import exchange_by_index
from harness.checks._events import plural
from harness.checks._events import result
from harness.checks._events import steps_by_uuid
from harness.checks._events import unique_events
from harness.checks.forks import forked_losses
from harness.subject.runtime import sdk_exit_flush
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import CaptureCall
    from harness.run import EnqueuedMessage
    from harness.run import Run
    from harness.run import SourceLocation

EVENT_METHODS = frozenset(
    {"capture", "capture_exception", "set", "set_once", "alias", "group_identify"}
)
_KILLED = frozenset({"SIGKILL", "KILL", "9"})


def _killed(run: Run) -> bool:
    process = run.process
    if process is None:
        return False
    return process.exit_code == -9 or (process.stop_signal or "").upper() in _KILLED


def flush_on_shutdown(run: Run) -> Result:
    """Every enqueued uuid arrived in a batch the mock answered 200."""
    check = "flush_on_shutdown"
    if run.mode != "server":
        return result(check, Status.SKIP, "only judged when the app runs as a stopped server")
    process = run.process
    if process is None:
        return result(check, Status.ERROR, "not judged: the app's process outcome is missing")
    # Before the kill: a worker flushing a forked client waits forever, so the
    # stop hangs for the very reason the events are lost.
    losses = forked_losses(run)
    if losses:
        summary = "; ".join(loss.summary() for loss in losses)
        return result(check, Status.FAIL, summary, [loss.evidence() for loss in losses])
    if _killed(run):
        return result(
            check,
            Status.ERROR,
            f"not judged: the app did not stop on {process.stop_signal or 'its signal'} "
            f"and had to be killed (exit code {process.exit_code})",
        )
    if not run.stop_fault_armed:
        return result(check, Status.ERROR, "not judged: the mock's stop fault was not armed")
    queued = {message.uuid: message for message in run.enqueued}
    if not queued:
        return result(check, Status.FAIL, "no events were produced")
    delivered = acknowledged_uuids(run)
    missing = [message for uuid, message in queued.items() if uuid not in delivered]
    took = "?" if process.stop_duration_s is None else f"{process.stop_duration_s:.2f}"
    stopped = f"exit code {process.exit_code}, stopped by {process.stop_signal} in {took} s"
    if not missing:
        if not _exit_delivery_registered(run):
            sdk = sdk_exit_flush(run.versions.get("posthog"))
            how = (
                f"they arrived within {sdk} this time"
                if _exit_exercised(run)
                else "nothing was still queued when the app stopped"
            )
            return result(
                check,
                Status.WARN,
                f"all {plural(len(queued), 'queued event')} were delivered, but no "
                f"client.shutdown()/flush() is registered with atexit ({how}): events "
                f"queued at a real shutdown get only {sdk}",
                [{"note": stopped}],
            )
        return result(
            check,
            Status.PASS,
            f"all {plural(len(queued), 'queued event')} were delivered ({stopped})",
        )
    exchanges = exchange_by_index(run)
    items = [
        evidence(
            event=message.event,
            uuid=message.uuid,
            distinct_id=message.distinct_id,
            exchange=exchanges.get(message.step) if message.step is not None else None,
            note="never acknowledged",
        )
        for message in missing
    ]
    items.append({"note": stopped})
    why = "" if _exit_delivery_registered(run) else "; nothing flushes the client at exit"
    return result(
        check, Status.FAIL, _missing_summary(run, missing, len(queued), stopped) + why, items
    )


def _missing_summary(run: Run, missing: list[EnqueuedMessage], queued: int, stopped: str) -> str:
    """What became of the missing events, as it was: refused at the stop (they
    reached the mock in a batch it answered 500, and were never sent again),
    or never sent at all. ``no_silent_drops`` counts the refused ones as having
    reached the mock, so the two summaries must not seem to disagree."""
    reached = {e.uuid for e in run.events if e.uuid is not None}
    refused = sum(message.uuid in reached for message in missing)
    lost = len(missing) - refused
    counted = f"{len(missing)} of {plural(queued, 'queued event')}"
    if not refused:
        return f"{counted} never arrived ({stopped})"
    if not lost:
        return (
            f"{counted} were refused at stop and never retried: they reached the mock in "
            f"the batch it answered 500 after the stop signal ({stopped})"
        )
    return (
        f"{counted} were not delivered: {refused} refused at stop and never retried, "
        f"{lost} never reached the mock ({stopped})"
    )


def _exit_exercised(run: Run) -> bool:
    """Whether a batch met the 500 armed at the stop signal: something was
    still queued when the app stopped (an app flushing every few milliseconds
    may have sent everything before)."""
    return any(r.kind is RequestKind.CAPTURE and not r.acknowledged for r in run.requests)


def _exit_delivery_registered(run: Run) -> bool:
    """Something that flushes the app's keyed client runs at exit, or its
    clients send synchronously (nothing is ever queued).

    Judged on what was registered while the app ran: a PostHog shutdown/flush
    bound to a keyed client (``posthog.shutdown`` counts for the module's
    default client only), or a function of the app's own registered at a
    place the source shows calling one. A registration under
    ``if __name__ == "__main__":`` never runs under a server, so never counts.
    """
    keyed = {c.client_id for c in run.clients if c.api_key}
    default_keyed = any(c.api_key and c.via == "module_default" for c in run.clients)
    for registration in run.atexit:
        if registration.is_posthog:
            if registration.client_id in keyed or (
                registration.client_id is None and default_keyed
            ):
                return True
        elif registration.location is not None and _at_a_flush_site(
            registration.location, run.static.atexit_sites
        ):
            return True
    clients = [c for c in run.clients if c.api_key]
    return bool(clients) and all(c.kwargs.get("sync_mode") in (True, "True") for c in clients)


def _at_a_flush_site(location: SourceLocation, sites: tuple[SourceLocation, ...]) -> bool:
    """The registration was made where the source registers a function that
    calls shutdown/flush (a decorator's line may be reported one line off)."""
    return any(s.file == location.file and abs(s.line - location.line) <= 1 for s in sites)


def _deduplicated(call: CaptureCall, exception_steps: set[int | None]) -> bool:
    """``capture_exception`` returns None for an exception already captured:
    a second report of one exception, not a drop, when one arrived for that request."""
    return call.method == "capture_exception" and call.step in exception_steps


def _call_evidence(call: CaptureCall, note: str) -> dict[str, t.Any]:
    client = "no configured client" if call.client_id is None else f"client {call.client_id}"
    return evidence(
        method=call.method,
        via=call.via,
        event=call.event,
        distinct_id=call.distinct_id,
        uuid=call.uuid,
        location=call.location,
        note=f"{note} ({call.via} call, {client})",
    )


def _refused_unreturned(
    run: Run, calls: list[CaptureCall]
) -> collections.Counter[tuple[str | None, str | None]]:
    """Events that reached the mock in a batch it refused at stop, with a
    uuid no call returned, by (event, distinct id): a ``sync_mode`` client
    sends a call's event at once and returns no uuid when that one send
    fails, so such a call reached the mock. Whether it should have been sent
    again is ``flush_on_shutdown``'s question, not a silent drop."""
    returned = {c.uuid for c in calls if c.uuid is not None}
    acknowledged = acknowledged_uuids(run)
    return collections.Counter(
        (e.event, e.distinct_id)
        for e in run.events
        if e.uuid is not None and e.uuid not in acknowledged and e.uuid not in returned
    )


def _refused_at_stop(run: Run, calls: list[CaptureCall]) -> int:
    """How many calls' events reached the mock only in refused batches."""
    acknowledged = acknowledged_uuids(run)
    reached = {e.uuid for e in run.events if e.uuid is not None}
    return sum(c.uuid in reached and c.uuid not in acknowledged for c in calls if c.uuid)


def no_silent_drops(run: Run) -> Result:
    """Every event-producing SDK call returned a uuid that reached the mock."""
    check = "no_silent_drops"
    # The SDK's own capture of $feature_flag_called (inside feature_enabled)
    # passes through the same method, but it is not a call the app made.
    calls = [
        call
        for call in run.capture_calls
        if call.method in EVENT_METHODS and call.event not in SDK_EVENTS
    ]
    if not calls:
        return result(check, Status.SKIP, "the app made no event-producing PostHog calls")
    events = unique_events(run)
    arrived = {event.uuid for event in events if event.uuid is not None}
    steps = steps_by_uuid(run)
    exception_steps = {
        steps.get(event.uuid) for event in events if event.event == "$exception" and event.uuid
    }
    # A stop killed at its deadline cut the delivery short: what had not
    # arrived by then may have been on its way (a loaded machine, an SDK
    # retrying), so only what the SDK refused outright is a drop. A forked
    # client's hang is the defect itself (flush_on_shutdown), so it counts.
    cut_short = _killed(run) and not forked_losses(run)
    refused_sends = _refused_unreturned(run, calls)
    items, undecided, sent_once = [], 0, 0
    for call in calls:
        if call.raised is not None:
            items.append(_call_evidence(call, f"the call raised {call.raised}"))
        elif call.uuid is None and not _deduplicated(call, exception_steps):
            if refused_sends[(call.event, call.distinct_id)] > 0:
                refused_sends[(call.event, call.distinct_id)] -= 1
                sent_once += 1
            else:
                items.append(_call_evidence(call, "returned no uuid: the SDK dropped it"))
        elif call.uuid is not None and call.uuid not in arrived:
            if cut_short:
                undecided += 1
            else:
                items.append(_call_evidence(call, "its uuid never reached the mock"))
    if not items and undecided and run.process is not None:  # _killed: it has one
        return result(
            check,
            Status.ERROR,
            f"not judged: {plural(undecided, 'call')} had not reached the mock when the stop "
            f"was killed at its deadline ({run.process.stop_signal}): see flush_on_shutdown",
        )
    if not items:
        summary = f"all {plural(len(calls), 'call')} reached the mock"
        refused = _refused_at_stop(run, calls)
        if refused:
            summary += (
                f" ({refused} only in a batch refused at stop and never retried: "
                "see flush_on_shutdown)"
            )
        if sent_once:
            summary += (
                f" ({plural(sent_once, 'call')} of a sync_mode client sent into the mock's "
                "refusal at stop: sync_mode sends once and returns no uuid when that fails)"
            )
        return result(check, Status.PASS, summary)
    first = items[0]
    where = f" at {first['location']}" if "location" in first else ""
    return result(
        check,
        Status.FAIL,
        f"{len(items)} of {plural(len(calls), 'call')} produced nothing at the mock, "
        f"e.g. {first['via']} {first['method']}(){where}",
        items,
    )
