"""Runs built by hand for the checks' tests: the reference app's whole scenario.

:func:`good_run` is what a correct integration (a ``Posthog()`` instance made
at start-up with autocapture, a request hook that follows the correlation
headers, ``set()`` at signup and login, ``shutdown()`` registered with atexit)
produces under the default scenario of ``docs/checks.md``. Tests derive a
defective run from it by editing the event specs and rebuilding, so the
events, queue records, calls and batches always agree::

    run = build(edit(SPECS, "user_signed_up", properties={"email": EMAIL}))
"""

from __future__ import annotations

import dataclasses
import typing as t

from harness.capture.records import CapturedEvent
from harness.capture.records import CapturedRequest
from harness.capture.records import RequestKind
from harness.run import AppRef
from harness.run import AtexitRegistration
from harness.run import Canaries
from harness.run import CaptureCall
from harness.run import ClientConstruction
from harness.run import EnqueuedMessage
from harness.run import Exchange
from harness.run import NoEnvBoot
from harness.run import PosthogConstructionSite
from harness.run import ProcessOutcome
from harness.run import Run
from harness.run import SourceLocation
from harness.run import StaticFacts

TOKEN = "phc_verify_k7q2abcdef0123456789"
MOCK = "http://127.0.0.1:50123"
MOCK_HOSTPORT = "127.0.0.1:50123"
ANON = "anon-k7q2-0001"
SESSION = "sess-k7q2-0001"
USER_ID = "user_42"
CANARIES = Canaries(
    email="Ada.Canary.k7q2@example.org",
    name="Zelda Quuxbridge K7q2",
    phone="+1 202 555 0147",
    address="742 Evergreen Terrace K7q2",
    text="my private note k7q2",
    ip="203.0.113.57",
    password="Pw-k7q2-secret!",
    probe="probe-canary-k7q2",
    first_name="Zeldak7q",
    last_name="Quuxbridgek7q",
    username="zq_k7q2_user",
    typed=("Acme Widgets K7q2",),
)
EMAIL = CANARIES.email
APP_PY = "app.py"
SDK_PROPS: dict[str, t.Any] = {
    "$lib": "posthog-python",
    "$lib_version": "7.91.1",
    "$python_runtime": "CPython",
    "$python_version": "3.11.7",
    "$os": "Linux",
    "$os_version": "12",
    "$geoip_disable": True,
    "$is_server": True,
}

# (index, step, kind, method, path, user, status)
_EXCHANGES = (
    (0, "anon_browse", "browse", "GET", "/", "anonymous", 200),
    (1, "signup", "signup", "GET", "/signup", "anonymous", 200),
    (2, "signup", "signup", "POST", "/signup", "anonymous", 302),
    (3, "dashboard", "browse", "GET", "/dashboard", "user", 200),
    (4, "api_action", "api", "POST", "/api/notes", "user", 201),
    (5, "logout", "logout", "GET", "/logout", "user", 302),
    (6, "login", "login", "GET", "/login", "anonymous", 200),
    (7, "login", "login", "POST", "/login", "anonymous", 302),
    (8, "dashboard_again", "browse", "GET", "/dashboard", "user", 200),
    (9, "probe", "probe", "GET", "/__posthog_verify__/raise", "anonymous", 500),
    (10, "logout_final", "browse", "GET", "/logout", "user", 302),
    (11, "anon_after_logout", "browse", "GET", "/", "anonymous", 200),
)


def exchanges(user_id: str = USER_ID) -> tuple[Exchange, ...]:
    """The scenario's exchanges; authenticated ones send the identified id."""
    made = []
    for index, step, kind, method, path, user, status in _EXCHANGES:
        distinct = user_id if user == "user" else ANON
        headers = {"X-POSTHOG-DISTINCT-ID": distinct, "X-POSTHOG-SESSION-ID": SESSION}
        form = None
        if method == "POST" and kind in ("signup", "login"):
            form = {"email": EMAIL, "password": CANARIES.password, "name": CANARIES.name}
        made.append(
            Exchange(
                index=index,
                step=step,
                kind=kind,
                method=method,
                path=path,
                request_headers=headers,
                status=status,
                form=form,
                distinct_id_header=distinct,
                session_id_header=SESSION,
                user=user,
            )
        )
    return tuple(made)


@dataclasses.dataclass(frozen=True)
class Spec:
    """One event the app makes: the call, what was queued, what arrived.

    :param batch: which capture request carried it: 0 while serving, 1 the
        final batch after the stop signal (answered 500, then retried with 200).
    """

    uuid: str
    event: str
    step: int | None
    distinct_id: str | None
    properties: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    set: dict[str, t.Any] | None = None
    set_once: dict[str, t.Any] | None = None
    method: str = "capture"
    via: str = "instance"
    line: int = 30
    batch: int = 0
    api_key: str = TOKEN
    arrives: bool = True
    returns_uuid: bool = True


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _probe_exception() -> dict[str, t.Any]:
    return {
        "$exception_list": [
            {
                "type": "PosthogVerifyProbeError",
                "value": CANARIES.probe,
                "mechanism": {"type": "generic", "handled": False},
                "stacktrace": {"frames": [{"filename": "harness/serve.py", "lineno": 88}]},
            }
        ],
        "$exception_level": "error",
    }


SPECS: tuple[Spec, ...] = (
    Spec(_uuid(1), "page_viewed", 0, ANON, {"path": "/"}, line=40),
    Spec(
        _uuid(2),
        "$set",
        2,
        USER_ID,
        {},
        set={"email": EMAIL, "name": CANARIES.name},
        method="set",
        line=61,
    ),
    Spec(_uuid(3), "user_signed_up", 2, USER_ID, {"plan": "free"}, line=62),
    Spec(_uuid(4), "dashboard_viewed", 3, USER_ID, {"notes": 0}, line=70),
    Spec(_uuid(5), "note_created", 4, USER_ID, {"length": 20}, line=80),
    Spec(_uuid(6), "user_logged_out", 5, USER_ID, {}, line=90),
    Spec(
        _uuid(7),
        "$set",
        7,
        USER_ID,
        {},
        set={"last_login_at": "2024-05-01T10:00:00Z"},
        method="set",
        line=101,
    ),
    Spec(_uuid(8), "user_logged_in", 7, USER_ID, {}, line=102),
    Spec(_uuid(9), "dashboard_viewed", 8, USER_ID, {"notes": 1}, line=70, batch=1),
    Spec(
        _uuid(10),
        "$exception",
        9,
        ANON,
        _probe_exception(),
        method="capture_exception",
        line=120,
        batch=1,
    ),
    Spec(_uuid(11), "page_viewed", 11, ANON, {"path": "/"}, line=40, batch=1),
)


def edit(specs: t.Iterable[Spec], event: str, **changes: t.Any) -> tuple[Spec, ...]:
    """Replace fields of every spec with that event name."""
    return tuple(dataclasses.replace(s, **changes) if s.event == event else s for s in specs)


def edit_uuid(specs: t.Iterable[Spec], uuid: str, **changes: t.Any) -> tuple[Spec, ...]:
    return tuple(dataclasses.replace(s, **changes) if s.uuid == uuid else s for s in specs)


def _properties(spec: Spec, sessions: dict[int, str]) -> dict[str, t.Any]:
    props = dict(SDK_PROPS)
    if spec.step is not None and spec.step in sessions and spec.event not in ("$set", "$set_once"):
        props["$session_id"] = sessions[spec.step]
    props.update(spec.properties)
    return props


def _event(spec: Spec, props: dict[str, t.Any], seq: int, acknowledged: bool) -> CapturedEvent:
    return CapturedEvent(
        event=spec.event,
        distinct_id=spec.distinct_id,
        properties=props,
        set=spec.set,
        set_once=spec.set_once,
        uuid=spec.uuid,
        timestamp="2024-05-01T10:00:00+00:00",
        api_key=spec.api_key,
        host=MOCK_HOSTPORT,
        path="/batch/",
        request_seq=seq,
        acknowledged=acknowledged,
    )


def _request(seq: int, status: int) -> CapturedRequest:
    return CapturedRequest(
        seq=seq,
        method="POST",
        scheme="http",
        host=MOCK_HOSTPORT,
        path="/batch/",
        query="",
        headers={"Content-Type": "application/json"},
        body=b"{}",
        status=status,
        kind=RequestKind.CAPTURE,
        received_at=float(seq),
    )


def _wire(specs: t.Sequence[Spec], sessions: dict[int, str]) -> tuple[tuple, tuple]:
    """Batches as the SDK sends them: batch 0 acknowledged; batch 1 refused
    once (the armed 500 after the stop signal) and retried."""
    events: list[CapturedEvent] = []
    for spec in (s for s in specs if s.arrives):
        props = _properties(spec, sessions)
        if spec.batch == 0:
            events.append(_event(spec, props, 0, True))
        else:
            events.append(_event(spec, props, 1, False))
    retried = [
        _event(spec, _properties(spec, sessions), 2, True)
        for spec in specs
        if spec.arrives and spec.batch == 1
    ]
    requests = (_request(0, 200), _request(1, 500), _request(2, 200))
    return requests, tuple(events + retried)


def _call(spec: Spec) -> CaptureCall:
    return CaptureCall(
        method=spec.method,
        via=spec.via,
        client_id=0 if spec.via == "instance" else None,
        phase="boot" if spec.step is None else "request",
        step=spec.step,
        event=spec.event if spec.method == "capture" else None,
        distinct_id=spec.distinct_id,
        uuid=spec.uuid if spec.returns_uuid else None,
        location=SourceLocation(APP_PY, spec.line),
    )


CLIENT = ClientConstruction(
    client_id=0,
    api_key=TOKEN,
    host=MOCK,
    kwargs={"project_api_key": TOKEN, "host": MOCK, "enable_exception_autocapture": True},
    via="instance",
    phase="boot",
    step=None,
    location=SourceLocation(APP_PY, 12, "posthog = Posthog(os.environ['POSTHOG_API_KEY'], ...)"),
)


def build(specs: t.Sequence[Spec] = SPECS, **overrides: t.Any) -> Run:
    """A Run of the whole scenario from event specs; ``overrides`` replace Run fields."""
    the_exchanges = overrides.pop("exchanges", None)
    if the_exchanges is None:
        the_exchanges = exchanges()
    sessions = {x.index: x.session_id_header for x in the_exchanges if x.session_id_header}
    requests, events = _wire(specs, sessions)
    run = Run(
        app=AppRef(name="reference", root="/apps/reference", target="app:create_app"),
        mode="server",
        token=TOKEN,
        mock_host=MOCK,
        injected_env=("POSTHOG_API_KEY", "POSTHOG_HOST"),
        canaries=CANARIES,
        distinct_id_header=ANON,
        session_id_header=SESSION,
        exchanges=the_exchanges,
        requests=requests,
        events=events,
        clients=(CLIENT,),
        atexit=(
            AtexitRegistration("Client.shutdown", True, 0, "boot", SourceLocation(APP_PY, 14)),
        ),
        capture_calls=tuple(_call(s) for s in specs),
        enqueued=tuple(
            EnqueuedMessage(0, s.uuid, s.event, s.distinct_id or "", s.step, dict(s.properties))
            for s in specs
            if s.returns_uuid
        ),
        process=ProcessOutcome(pid=4242, exit_code=0, stop_signal="SIGTERM", stop_duration_s=1.4),
        no_env_boot=NoEnvBoot(served=True, status=200, unset=("POSTHOG_API_KEY", "POSTHOG_HOST")),
        static=StaticFacts(
            env_names=("POSTHOG_API_KEY", "POSTHOG_HOST"),
            constructions=(
                PosthogConstructionSite(
                    SourceLocation(APP_PY, 12), {"enable_exception_autocapture": "True"}, True
                ),
            ),
            atexit_sites=(SourceLocation(APP_PY, 14),),
            files_scanned=3,
        ),
        stop_fault_armed=True,
    )
    return dataclasses.replace(run, **overrides)


def good_run(**overrides: t.Any) -> Run:
    return build(SPECS, **overrides)


def flask_integration_specs() -> tuple[Spec, ...]:
    """The same app with ``PosthogFlaskIntegration``: every request's events
    carry ``$ip``, ``$current_url`` (no query string) and ``$user_agent``."""
    paths = {x.index: x.path for x in exchanges()}
    made = []
    for spec in SPECS:
        if spec.step is None or spec.event in ("$set", "$set_once"):
            made.append(spec)
            continue
        extra = {
            "$ip": "127.0.0.1",
            "$current_url": f"http://127.0.0.1:5000{paths[spec.step]}",
            "$request_method": "GET",
            "$request_path": paths[spec.step],
            "$user_agent": "python-requests/2.32.3",
            "$raw_user_agent": "python-requests/2.32.3",
        }
        made.append(dataclasses.replace(spec, properties={**extra, **spec.properties}))
    return tuple(made)


def contexts_specs() -> tuple[Spec, ...]:
    """The same app with ``new_context`` + ``identify_context`` in a request
    hook: person properties arrive in ``$set`` with the context's keys."""
    made = []
    for spec in SPECS:
        props = {**spec.properties, "$context_tags": []}
        person = spec.set
        if person is not None:
            person = {**person, "$context_tags": [], "$session_id": SESSION}
        made.append(dataclasses.replace(spec, properties=props, set=person))
    return tuple(made)


def module_default_run() -> Run:
    """The same app using the module-level default client (``posthog.api_key = ...``)."""
    client = dataclasses.replace(
        CLIENT,
        via="module_default",
        phase="request",
        step=0,
        kwargs={"api_key": TOKEN, "host": MOCK, "enable_exception_autocapture": True},
    )
    specs = tuple(dataclasses.replace(s, via="module") for s in SPECS)
    run = build(specs, clients=(client,))
    calls = tuple(dataclasses.replace(c, client_id=0) for c in run.capture_calls)
    return dataclasses.replace(run, capture_calls=calls)
