"""``identify_on_signup`` and ``identify_on_login``: the user becomes a person.

After the signup (login) exchanges, some event must identify the user: a
``$set``/``$set_once`` (from ``set()``, ``set_once()`` or a context's
``identify_context`` + ``set``) or, failing that, an identified capture. Its
distinct id must not be the email or any canary, nor the anonymous header id,
nor the session header's value;
the user's next authenticated events must carry the same id and not be
personless; and person properties must exist for that id somewhere::

    identify_on_signup(run).summary   # "signup identified the user as 'u_42' ..."

The SDK has no ``identify()`` (DESIGN.md), so the check reads what reached the
wire, not which function the app called.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import re
import typing as t

from harness.capture.records import RequestKind
from harness.checks._events import SDK_EVENTS
from harness.checks._events import events_by_exchange
from harness.checks._events import evidence
from harness.checks._events import exchange_map
from harness.checks._events import is_personless
from harness.checks._events import person_properties
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.run import LOGIN_AFTER_SIGNUP
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.capture.records import CapturedEvent
    from harness.capture.records import CapturedRequest
    from harness.run import Exchange
    from harness.run import Run

_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
# Steps that end "the user is logged in": the window of later events stops there.
_WINDOW_ENDS = frozenset({"logout", "login", "signup"})
# $create_alias is sent with the previous (anonymous) id by design.
# Events whose distinct id is not the user's (a group update takes a random one).
_NOT_IDENTITY = frozenset({"$create_alias", "$groupidentify"}) | SDK_EVENTS


@dataclasses.dataclass(frozen=True)
class Identification:
    """The id the app identified the user as, and the event that showed it."""

    distinct_id: str
    event: CapturedEvent
    exchange: Exchange


@dataclasses.dataclass(frozen=True)
class Window:
    """The kind's own exchanges and the authenticated ones right after them."""

    own: tuple[Exchange, ...]
    later: tuple[Exchange, ...]


def window(run: Run, kind: str) -> Window:
    # The driver's login after a signup that left the user logged out belongs
    # to neither kind's own exchanges: signup's window looks past it.
    own = tuple(x for x in run.exchanges if x.kind == kind and x.step != LOGIN_AFTER_SIGNUP)
    if not own:
        return Window((), ())
    last = max(x.index for x in own)
    later: list[Exchange] = []
    for exchange in sorted(run.exchanges, key=lambda x: x.index):
        if exchange.index <= last or exchange.step == LOGIN_AFTER_SIGNUP:
            continue
        if exchange.user != "user" or exchange.kind in _WINDOW_ENDS or "logout" in exchange.step:
            break
        later.append(exchange)
    return Window(own, tuple(later))


def anonymous_ids(run: Run) -> set[str]:
    """Every distinct-id header the scenario sent while no user was logged in."""
    ids = {run.distinct_id_header} if run.distinct_id_header else set()
    ids |= {
        x.distinct_id_header
        for x in run.exchanges
        if x.user == "anonymous" and x.distinct_id_header
    }
    return ids


def submitting(span: Window) -> tuple[Exchange, ...]:
    """The kind's exchanges that submitted the form (every one when none did).

    Identification has to happen while the app handles the signup or login
    itself: an app whose login event still goes to the anonymous id is not
    rescued by the dashboard request after it, which any session login would
    attribute to the user. Nor does the form's GET identify anyone: an event
    of the form being shown is a visitor's, however the app names them.
    """
    submits = tuple(x for x in span.own if x.method.upper() != "GET")
    return submits or span.own


def form_views(span: Window) -> set[int]:
    """The kind's GETs before its last submission (the form shown, maybe again
    after a rejected attempt): their events are anonymous, judged by the header
    checks, not by these."""
    submits = [x.index for x in span.own if x.method.upper() != "GET"]
    if not submits:
        return set()
    return {x.index for x in span.own if x.method.upper() == "GET" and x.index < max(submits)}


def identification(run: Run, kind: str) -> Identification | None:
    """The first identifying event of the submitting exchanges: person
    properties first, then an identified (not personless, not anonymous) capture."""
    span = window(run, kind)
    grouped = events_by_exchange(run)
    anonymous = anonymous_ids(run)
    for exchange in submitting(span):
        events = grouped.get(exchange.index, [])
        for event in events:
            if event.distinct_id and person_properties(event):
                return Identification(event.distinct_id, event, exchange)
        for event in events:
            if _identified(event, anonymous):
                return Identification(t.cast(str, event.distinct_id), event, exchange)
    return None


def _identified(event: CapturedEvent, anonymous: set[str]) -> bool:
    return (
        bool(event.distinct_id)
        and event.distinct_id not in anonymous
        and event.event not in _NOT_IDENTITY
        and not is_personless(event)
    )


def _pii_in_id(run: Run, distinct_id: str) -> str | None:
    """Which canary (or "an email address") the id carries, if any."""
    lowered = distinct_id.lower()
    if run.canaries is not None:
        for kind, value in run.canaries.pii().items():
            if len(value) >= 4 and value.lower() in lowered:
                return f"the {kind} canary"
    return "an email address" if _EMAIL_SHAPE.search(distinct_id) else None


def flag_identity_leaks(run: Run) -> list[dict[str, t.Any]]:
    """Feature-flag traffic the SDK made for a distinct id that carries a
    canary (``feature_enabled(key, user.email)``): each ``$feature_flag_called``
    event and each ``/flags`` request, with the call site the instrumentation
    saw. The ``/flags`` request is made on every evaluation while the SDK sends
    ``$feature_flag_called`` once per (id, flag, value) per process, so signup
    and login are judged alike by the run's requests, not by which of them
    happened to send the event."""
    sites = {
        (call.distinct_id, call.event): call.location
        for call in run.capture_calls
        if call.event in SDK_EVENTS and call.location is not None
    }
    by_uuid = exchange_map(run)
    items: list[dict[str, t.Any]] = []
    for event in unique_events(run):
        what = _pii_in_id(run, event.distinct_id or "") if event.event in SDK_EVENTS else None
        if what:
            site = sites.get((event.distinct_id, event.event))
            items.append(
                evidence(
                    event=event,
                    exchange=by_uuid.get(event.uuid) if event.uuid else None,
                    location=site,
                    note=f"sent by the SDK for a flag evaluated with {what} as distinct id",
                    what=what,
                )
            )
    for request in run.requests:
        distinct_id = _flags_distinct_id(request)
        what = _pii_in_id(run, distinct_id) if distinct_id else None
        if what:
            # The call site the SDK's event showed for this id (a deduped
            # evaluation sends no event, but it is the same call).
            site = next((loc for (who, _), loc in sites.items() if who == distinct_id), None)
            items.append(
                evidence(
                    location=site,
                    request_to_mock=f"{request.method} {request.path}",
                    distinct_id=distinct_id,
                    note=f"a feature flag evaluation (/flags) for {what}",
                    what=what,
                )
            )
    return items


def _flags_distinct_id(request: CapturedRequest) -> str | None:
    """The distinct id a ``/flags`` request asked about (JSON, maybe gzipped)."""
    if request.kind is not RequestKind.FLAGS or not request.body:
        return None
    body = request.body
    with contextlib.suppress(OSError, EOFError):
        body = gzip.decompress(body)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    distinct_id = payload.get("distinct_id") if isinstance(payload, dict) else None
    return str(distinct_id) if distinct_id is not None else None


def _inconsistent(run: Run, ident: Identification, span: Window) -> list[dict[str, t.Any]]:
    """Events in the window that carry another id, or are personless."""
    grouped = events_by_exchange(run)
    anonymous = anonymous_ids(run)
    own = {x.index for x in span.own}
    views = form_views(span)
    items = []
    for exchange in span.own + span.later:
        if exchange.index in views:
            continue
        for event in grouped.get(exchange.index, []):
            if event.event in _NOT_IDENTITY:
                continue
            # Before identification, the signup request's events may still be
            # anonymous; not those of the page it redirects to, which the user's
            # session loads (with the visitor's stale header: docs/checks.md).
            anonymous_request = exchange.user != "user"
            if (
                exchange.index in own
                and anonymous_request
                and (event.distinct_id in anonymous or is_personless(event))
            ):
                continue
            if event.distinct_id != ident.distinct_id:
                stale = (
                    exchange.user == "user"
                    and exchange.distinct_id_header in anonymous
                    and event.distinct_id == exchange.distinct_id_header
                )
                why = (
                    " (a logged-in request sent with a stale anonymous header still "
                    "follows the header, not the user)"
                    if stale
                    else ""
                )
                items.append(
                    evidence(
                        event=event,
                        exchange=exchange,
                        note=(
                            f"distinct id {event.distinct_id!r}, but {ident.exchange.step} "
                            f"identified the user as {ident.distinct_id!r} "
                            f"(event {ident.event.uuid}){why}"
                        ),
                    )
                )
            elif is_personless(event):
                items.append(
                    evidence(
                        event=event,
                        exchange=exchange,
                        path=("properties.$process_person_profile"),
                        value=False,
                        note="personless: PostHog will not attach it to the person",
                    )
                )
    return items


def _shared_with_visitors(run: Run, ident: Identification) -> list[dict[str, t.Any]]:
    """Events of anonymous exchanges made before the first signup or login
    submission that carry the identified id: before the user existed no event
    could be theirs, so the id is not the user's (``distinct_id="server"``,
    a worker's own id, one constant for everybody)."""
    submissions = [
        x.index
        for x in run.exchanges
        if x.kind in ("signup", "login") and x.method.upper() != "GET"
    ]
    if not submissions:
        return []
    first = min(submissions)
    grouped = events_by_exchange(run)
    return [
        evidence(
            event=event,
            exchange=exchange,
            note="sent before the user existed, with the id the user was identified as",
        )
        for exchange in run.exchanges
        if exchange.index < first and exchange.user == "anonymous"
        for event in grouped.get(exchange.index, [])
        if event.event not in _NOT_IDENTITY and event.distinct_id == ident.distinct_id
    ]


def _has_person_properties(run: Run, distinct_id: str) -> bool:
    return any(e.distinct_id == distinct_id and person_properties(e) for e in unique_events(run))


def _window_evidence(run: Run, span: Window) -> list[dict[str, t.Any]]:
    grouped = events_by_exchange(run)
    items = [
        evidence(
            event=event, exchange=exchange, note="personless" if is_personless(event) else None
        )
        for exchange in span.own + span.later
        for event in grouped.get(exchange.index, [])
    ]
    return items or [evidence(exchange=x, note="no event") for x in span.own]


def judge(run: Run, check: str, kind: str) -> tuple[Result, Identification | None]:
    """The verdict for one kind, and the identification it found (for login)."""
    span = window(run, kind)
    if not span.own:
        reason = run.steps_skipped.get(kind) or f"the app has no {kind} route"
        return result(check, Status.SKIP, reason), None
    if kind in run.steps_incomplete and not any(_is_5xx(x.status) for x in span.own):
        reason = run.steps_incomplete[kind]
        summary = f"not judged: the harness could not complete {kind} ({reason}); "
        summary += f"if it needs another form or other fields, name them in the manifest's [{kind}]"
        return result(check, Status.ERROR, summary), None
    ident = identification(run, kind)
    if ident is None:
        return result(
            check,
            Status.FAIL,
            f"no event identified the user after {kind}: no "
            "$set/$set_once and no identified capture",
            _window_evidence(run, span),
        ), None
    quoted = evidence(
        event=ident.event, exchange=ident.exchange, note=f"identified as {ident.distinct_id!r}"
    )
    leak = _pii_in_id(run, ident.distinct_id)
    if leak:
        return result(
            check,
            Status.FAIL,
            f"{kind} identified the user by {leak}: distinct id {ident.distinct_id!r}",
            [quoted],
        ), ident
    flagged = flag_identity_leaks(run)
    if flagged:
        return result(
            check,
            Status.FAIL,
            f"{kind} identified the user as {ident.distinct_id!r}, but feature flags were "
            f"evaluated for {flagged[0]['what']} ({flagged[0]['distinct_id']!r}): PostHog "
            "sees a second person, named by personal data",
            [quoted, *flagged],
        ), ident
    if ident.distinct_id in anonymous_ids(run):
        return result(
            check,
            Status.FAIL,
            f"{kind} identified the user as the anonymous header "
            f"id {ident.distinct_id!r}, not a stable user id",
            [quoted],
        ), ident
    sessions = {x.session_id_header for x in run.exchanges if x.session_id_header}
    if ident.distinct_id in sessions | ({run.session_id_header} - {""}):
        return result(
            check,
            Status.FAIL,
            f"{kind} identified the user as the X-POSTHOG-SESSION-ID value "
            f"{ident.distinct_id!r}: it changes with every session, not a stable user id",
            [quoted],
        ), ident
    shared = _shared_with_visitors(run, ident)
    if shared:
        return result(
            check,
            Status.FAIL,
            f"{kind} identified the user as {ident.distinct_id!r}, but {len(shared)} event(s) "
            "of requests made before anyone signed up or logged in carry that id too: every "
            "visitor and user is one person (a fixed or server-side distinct id)",
            [quoted, *shared],
        ), ident
    items = _inconsistent(run, ident, span)
    if items:
        return result(
            check,
            Status.FAIL,
            f"{len(items)} event(s) of the user after {kind} {_why(items)}",
            [quoted, *items],
        ), ident
    if not _has_person_properties(run, ident.distinct_id):
        return result(
            check,
            Status.FAIL,
            f"no person properties ($set/$set_once) were sent for {ident.distinct_id!r}",
            [quoted],
        ), ident
    later = sum(len(events_by_exchange(run).get(x.index, [])) for x in span.later)
    note = "" if later else " (no later events to compare)"
    return result(
        check,
        Status.PASS,
        f"{kind} identified the user as {ident.distinct_id!r}, with person properties{note}",
        [quoted],
    ), ident


def _why(items: list[dict[str, t.Any]]) -> str:
    if all("path" in item for item in items):
        return "are personless ($process_person_profile false)"
    ids = sorted({str(item.get("distinct_id")) for item in items if "path" not in item})
    return f"carry another distinct id ({', '.join(ids[:3])})"


def identify_on_signup(run: Run) -> Result:
    """The user is identified, with person properties, at signup."""
    return judge(run, "identify_on_signup", "signup")[0]


def identify_on_login(run: Run) -> Result:
    """The same at login, and with the id signup gave the user."""
    verdict, ident = judge(run, "identify_on_login", "login")
    if verdict.status is not Status.PASS or ident is None:
        return verdict
    first = identification(run, "signup")
    if first is None or first.distinct_id == ident.distinct_id:
        return verdict
    return result(
        "identify_on_login",
        Status.FAIL,
        f"login identified the user as {ident.distinct_id!r}, signup as {first.distinct_id!r}",
        [
            evidence(event=first.event, exchange=first.exchange, note="at signup"),
            evidence(event=ident.event, exchange=ident.exchange, note="at login"),
        ],
    )


def _is_5xx(status: int | None) -> bool:
    return status is not None and status >= 500
