"""What the integration claims against what it sent: the setup report and a
tracking plan (``setup_report_matches``, ``tracking_plan_holds``).

The setup report (:mod:`harness.static.claims`) is the integration's own list of
the events it added; the tracking plan is the manifest's ``[[events]]``, kept
by a team that wants its events to hold a shape. Both are compared with what
the run sent, event by event, and each mismatch is quoted::

    setup_report_matches(run).summary
    # "1 claimed event was never sent though its flow ran: 'user_signed_up' ..."

The rules (which claim counts as exercised, which mismatch blocks) are in
docs/checks.md, "The integration's claims".
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing as t

from harness.checks._events import describe
from harness.checks._events import events_by_exchange
from harness.checks._events import evidence
from harness.checks._events import exchange_by_index
from harness.checks._events import exchange_map
from harness.checks._events import plural
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import ClaimedEvent
    from harness.run import Exchange
    from harness.run import PlannedEvent
    from harness.run import Run
    from harness.run import SourceLocation

#: Words in a claimed event's name that name a flow the scenario drives, by step kind.
FLOW_WORDS: dict[str, re.Pattern[str]] = {
    "signup": re.compile(r"sign(ed)?[\s_-]?up|regist", re.I),
    "login": re.compile(r"log(ged)?[\s_-]?in(?!g)|sign(ed)?[\s_-]?in(?!g)", re.I),
    "logout": re.compile(r"log(ged)?[\s_-]?out|sign(ed)?[\s_-]?out", re.I),
}
_PARAM_RE = re.compile(r"<[^<>]*>|\{[^{}]*\}")
NO_REPORT = "no setup report (posthog-setup-report.md or .posthog-events.json) in the app"
NO_PLAN = "no tracking plan: the manifest has no [[events]]"


def not_applicable(run: Run) -> dict[str, str]:
    """The claim checks with nothing to hold the app to, and why: they are
    ``skip`` whatever else happened (a boot failure, a failed step), since
    there is no claim a run could break."""
    reasons: dict[str, str] = {}
    if run.setup_report is None:
        reasons["setup_report_matches"] = NO_REPORT
    if not run.tracking_plan:
        reasons["tracking_plan_holds"] = NO_PLAN
    return reasons


# -- setup_report_matches -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Sent:
    """An event name the app produced, and where it was first seen."""

    name: str
    exchange: Exchange | None
    location: SourceLocation | None


def sent_events(run: Run) -> dict[str, _Sent]:
    """Every event name the app produced, delivered or only queued or called,
    with the first exchange it came from and the source line of its call."""
    by_index = exchange_by_index(run)
    by_uuid = exchange_map(run)
    calls = {c.uuid: c for c in run.capture_calls if c.uuid is not None}
    sent: dict[str, _Sent] = {}

    def add(name: str, uuid: str | None, step: int | None) -> None:
        call = calls.get(uuid) if uuid is not None else None
        exchange = by_uuid.get(uuid) if uuid is not None else None
        exchange = exchange or (by_index.get(step) if step is not None else None)
        first = sent.get(name)
        location = call.location if call is not None else None
        if first is None or (first.exchange is None and exchange is not None):
            sent[name] = _Sent(name, exchange, location or (first.location if first else None))

    for event in unique_events(run):
        add(event.event, event.uuid, None)
    for message in run.enqueued:
        add(message.event, message.uuid, message.step)
    for call in run.capture_calls:
        if call.method == "capture" and call.event and call.raised is None:
            add(call.event, call.uuid, call.step)
    return sent


def exercised_by(claim: ClaimedEvent, run: Run) -> Exchange | None:
    """The exchange that drove the flow the claim names (a submission before
    the GET of its form), None when the run did not drive it or the claim
    names no route or flow the harness knows."""
    answered = sorted(
        (x for x in run.exchanges if x.status is not None), key=lambda x: x.method == "GET"
    )
    if claim.routes:
        patterns = [_route_regex(route) for route in claim.routes]
        return next(
            (x for x in answered if any(p.match(x.path.split("?")[0]) for p in patterns)), None
        )
    # The name only: a description ("...a user who signed up...") names other flows too.
    kinds = [kind for kind, words in FLOW_WORDS.items() if words.search(claim.name)]
    return next((x for x in answered if x.kind in kinds), None)


def _route_regex(route: str) -> re.Pattern[str]:
    parts = _PARAM_RE.split(route)
    body = "[^/]+".join(re.escape(part) for part in parts)
    return re.compile(f"^{body.rstrip('/') or '/'}/?$")


def _claims(run: Run) -> dict[str, ClaimedEvent]:
    """The report's claims once per name (the first place wins), SDK events out."""
    claims: dict[str, ClaimedEvent] = {}
    assert run.setup_report is not None
    for claim in run.setup_report.events:
        if not claim.name.startswith("$"):
            claims.setdefault(claim.name, claim)
    return claims


def setup_report_matches(run: Run) -> Result:
    """The events the setup report lists are the events the run captured."""
    report = run.setup_report
    if report is None:
        return result("setup_report_matches", Status.SKIP, NO_REPORT)
    files = ", ".join(report.files)
    notes = [evidence(note=note) for note in report.notes]
    if not report.events and report.notes:
        return result(
            "setup_report_matches",
            Status.ERROR,
            f"the setup report ({files}) names no event that could be read",
            notes,
        )
    claims, sent = _claims(run), sent_events(run)
    unsent, idle = _unsent_claims(run, claims, sent)
    unlisted = [
        evidence(
            event=s.name,
            exchange=s.exchange,
            location=s.location,
            note=f"sent, but {files} does not list it" + _nearest(s.name, claims),
        )
        for name, s in sent.items()
        if not name.startswith("$") and name not in claims
    ]
    items = unsent + unlisted + idle + notes
    if unsent:
        names = ", ".join(repr(i["event"]) for i in unsent)
        summary = (
            f"{plural(len(unsent), 'claimed event')} never sent though the flow "
            f"{'it names' if len(unsent) == 1 else 'they name'} ran: {names} ({files})"
        )
        return result("setup_report_matches", Status.FAIL, summary, items)
    if unlisted:
        names = ", ".join(repr(i["event"]) for i in unlisted)
        summary = f"{plural(len(unlisted), 'event')} sent but not in the setup report: {names}"
        return result("setup_report_matches", Status.WARN, summary + f" ({files})", items)
    matched = [name for name in claims if name in sent]
    if not matched:
        summary = f"no claimed event could be compared: none of their flows ran ({files})"
        return result("setup_report_matches", Status.SKIP, summary, items)
    summary = f"the {plural(len(matched), 'claimed event')} of {files} were sent"
    if idle:
        summary += f"; {len(idle)} not exercised (a flow the harness does not drive)"
    return result("setup_report_matches", Status.PASS, summary, items)


def _unsent_claims(
    run: Run, claims: dict[str, ClaimedEvent], sent: dict[str, _Sent]
) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """Claims never sent: those whose flow ran (failures), and those whose
    flow the run did not drive (notes)."""
    unsent: list[dict[str, t.Any]] = []
    idle: list[dict[str, t.Any]] = []
    grouped = events_by_exchange(run)
    for name, claim in claims.items():
        if name in sent:
            continue
        exchange = exercised_by(claim, run)
        if exchange is None:
            named = ", ".join(claim.routes) or "no route or flow the harness drives"
            idle.append(
                evidence(
                    event=name,
                    location=claim.location,
                    claimed=claim.location.text,
                    note=f"not exercised: the claim names {named}, which this run did not drive",
                )
            )
            continue
        step = [x.index for x in run.exchanges if x.step == exchange.step]
        during = sorted({e.event for index in step for e in grouped.get(index, [])})
        unsent.append(
            evidence(
                event=name,
                exchange=exchange,
                location=claim.location,
                claimed=claim.location.text,
                sent_during_that_step=during,
                note="claimed, never sent" + _nearest(name, sent),
            )
        )
    return unsent, idle


def _nearest(name: str, names: t.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, [n for n in names if n != name], n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- tracking_plan_holds --------------------------------------------------------


def tracking_plan_holds(run: Run) -> Result:
    """Every event of the manifest's tracking plan was sent, as planned."""
    if not run.tracking_plan:
        return result("tracking_plan_holds", Status.SKIP, NO_PLAN)
    grouped = events_by_exchange(run)
    failures: list[dict[str, t.Any]] = []
    errors: list[dict[str, t.Any]] = []
    idle: list[dict[str, t.Any]] = []
    held = 0
    for planned in run.tracking_plan:
        exchanges = [x for x in run.exchanges if planned.step in (x.step, x.kind)]
        if not exchanges:
            (idle if planned.step in run.steps_skipped else errors).append(_no_step(planned, run))
            continue
        seen = [
            (x, e) for x in exchanges for e in grouped.get(x.index, []) if e.event == planned.name
        ]
        if not seen:
            failures.append(_not_sent(planned, exchanges, grouped, run))
            continue
        problems = [p for x, e in seen for p in _mismatches(planned, x, e.properties)]
        failures += list({repr(sorted(p.items())): p for p in problems}.values())
        held += not problems
    items = failures + errors + idle
    if failures:
        events = sorted({i["event"] for i in failures})
        summary = f"the tracking plan does not hold for {', '.join(map(repr, events))}"
        return result("tracking_plan_holds", Status.FAIL, summary, items)
    if errors:
        summary = "the tracking plan names a step this run has none of (fix [[events]] step)"
        return result("tracking_plan_holds", Status.ERROR, summary, items)
    if not held:
        summary = "no planned event could be checked: none of their steps ran"
        return result("tracking_plan_holds", Status.SKIP, summary, items)
    summary = f"{plural(held, 'planned event')} sent during {'its' if held == 1 else 'their'} "
    summary += "step with the planned properties"
    if idle:
        summary += f"; {len(idle)} not exercised"
    return result("tracking_plan_holds", Status.PASS, summary, items)


def _no_step(planned: PlannedEvent, run: Run) -> dict[str, t.Any]:
    if planned.step in run.steps_skipped:
        note = (
            f"not exercised: step {planned.step!r} did not run ({run.steps_skipped[planned.step]})"
        )
        return evidence(event=planned.name, step=planned.step, note=note)
    known = sorted({x.step for x in run.exchanges} | {x.kind for x in run.exchanges})
    note = f"no step named or of kind {planned.step!r} ran; this run's steps: {', '.join(known)}"
    close = difflib.get_close_matches(planned.step, known, n=1)
    note += f" (did you mean {close[0]!r}?)" if close else ""
    return evidence(event=planned.name, step=planned.step, note=note)


def _not_sent(
    planned: PlannedEvent,
    exchanges: list[Exchange],
    grouped: dict[int, list[t.Any]],
    run: Run,
) -> dict[str, t.Any]:
    during = sorted({e.event for x in exchanges for e in grouped.get(x.index, [])})
    elsewhere = [
        x.step
        for x in run.exchanges
        if x not in exchanges and any(e.event == planned.name for e in grouped.get(x.index, []))
    ]
    note = f"planned during {planned.step!r}, not sent then"
    if elsewhere:
        note += f"; sent during {', '.join(dict.fromkeys(elsewhere))} instead"
    return evidence(
        event=planned.name,
        step=planned.step,
        request=describe(exchanges[0]),
        sent_during_that_step=during,
        note=note,
    )


def _mismatches(
    planned: PlannedEvent, exchange: Exchange, properties: dict[str, t.Any]
) -> list[dict[str, t.Any]]:
    """The event's departures from the plan: a required property missing, a
    property of another type, a value outside its enum."""
    found: list[dict[str, t.Any]] = []

    def add(prop: str, expected: str, seen: str) -> None:
        found.append(
            evidence(
                event=planned.name,
                exchange=exchange,
                step=exchange.step,
                property=prop,
                expected=expected,
                seen=seen,
            )
        )

    for prop in planned.required:
        if prop not in properties:
            add(prop, "present (required)", "missing")
    for prop, spec in planned.properties.items():
        if prop not in properties:
            continue
        value = properties[prop]
        if spec.types and not any(matches_type(value, name) for name in spec.types):
            add(prop, " or ".join(spec.types), f"{json_type(value)} {value!r}"[:120])
        elif spec.enum is not None and value not in spec.enum:
            add(prop, f"one of {list(spec.enum)!r}", repr(value)[:120])
    return found


def json_type(value: t.Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


def matches_type(value: t.Any, name: str) -> bool:
    """JSON Schema's rule: an integer is a number, and so is 1.0 an integer."""
    seen = json_type(value)
    if name == "number":
        return seen in ("integer", "number")
    if name == "integer":
        return seen == "integer" or (seen == "number" and float(value).is_integer())
    return seen == name
