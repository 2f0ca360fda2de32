"""The serve protocol end to end: a real child, driven over HTTP, its records read back.

One boot of the healthy app is driven once (module scope) and each test reads
one part of what it recorded.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.capture import CaptureServer
from harness.subject.observations import Observations
from harness.subject.process import AppProcess
from harness.subject.process import Timeouts
from harness.subject.workspace import fresh_copy

FAULTY = Path(__file__).resolve().parent.parent / "apps" / "faulty"
TIMEOUTS = Timeouts(boot_s=5.0, request_s=3.0, stop_s=5.0)
# (path, step header): the step index is what the driver sends.
DRIVE = [
    ("/", 0),
    ("/per-request", 1),
    ("/module", 2),
    ("/exception", 3),
    ("/outbound", 4),
    ("/__posthog_verify__/raise", 5),
]


@dataclasses.dataclass
class Served:
    observations: Observations
    answers: dict[str, tuple[int, bytes]]
    mock: CaptureServer
    stderr: str
    exit_code: int | None


def env_for(mock: CaptureServer) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "POSTHOG_API_KEY": "phc_test_serve",
        "POSTHOG_HOST": mock.url,
        "POSTHOG_VERIFY_MOCK_URL": mock.url,
    }


def get(url: str, step: int | None = None) -> tuple[int, bytes]:
    headers = {} if step is None else {"X-Posthog-Verify-Step": str(step)}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=3) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def serve_and_drive(tmp: Path, name: str, target: str, drive: list[tuple[str, int]]) -> Served:
    mock = CaptureServer().start()
    workdir = fresh_copy(FAULTY / name, tmp)
    log = tmp / "log.jsonl"
    with AppProcess(
        workdir, target, env_for(mock), log, probe_token="canary-42", timeouts=TIMEOUTS
    ) as proc:
        url = proc.start()
        answers = {path: get(url + path, step) for path, step in drive}
        outcome = proc.stop()
    mock.stop()
    return Served(proc.records(), answers, mock, outcome.stderr_tail, outcome.exit_code)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return serve_and_drive(tmp_path_factory.mktemp("healthy"), "healthy", "app:create_app", DRIVE)


def test_probe_route_raises_inside_a_view_with_the_token(served: Served) -> None:
    status, _ = served.answers["/__posthog_verify__/raise"]
    assert status == 500  # the app's own error response, not a crash
    assert "PosthogVerifyProbeError: posthog-verify probe canary-42" in served.stderr
    assert served.observations.probe_failed is None


def test_routes_are_the_apps_own_plus_the_probes(served: Served) -> None:
    rules = {r.rule: r for r in served.observations.routes}
    assert set(rules) == {"/static/<path:filename>", "/", "/per-request", "/module",
                          "/exception", "/outbound", "/__posthog_verify__/raise",
                          "/__posthog_verify__/ready"}  # fmt: skip
    assert rules["/"].methods == frozenset({"GET"})  # HEAD and OPTIONS are implied
    assert rules["/"].endpoint == "index"


def test_clients_carry_phase_step_and_source(served: Served) -> None:
    clients = served.observations.clients
    summary = [(c.client_id, c.via, c.phase, c.step, c.api_key) for c in clients]
    assert summary == [
        (0, "instance", "boot", None, "phc_test_serve"),
        (1, "instance", "request", 1, "phc_test_serve"),
        (2, "module_default", "request", 2, ""),
    ]
    boot = clients[0]
    assert boot.location is not None
    assert (boot.location.file, boot.location.line) == ("app.py", 14)
    assert boot.location.text.startswith("client = Posthog(")
    assert boot.kwargs["host"] == served.mock.url


def test_calls_match_enqueued_messages_and_delivered_events(served: Served) -> None:
    calls = served.observations.capture_calls
    summary = [(c.method, c.via, c.client_id, c.step, c.event) for c in calls]
    assert summary == [
        ("capture", "instance", 0, 0, "home_viewed"),
        ("capture", "instance", 1, 1, "per_request"),
        ("capture", "module", None, 2, "module_event"),
        ("capture_exception", "instance", 0, 3, "$exception"),  # its inner capture is not counted
    ]
    assert calls[2].uuid is None  # module call with no api key: silently dropped
    enqueued = {m.uuid: m for m in served.observations.enqueued}
    for call in (calls[0], calls[1], calls[3]):
        assert call.uuid in enqueued
        assert enqueued[call.uuid].step == call.step
        assert enqueued[call.uuid].event == call.event
    delivered = {e.uuid for e in served.mock.store.events()}
    assert delivered >= {calls[0].uuid, calls[3].uuid}


def test_atexit_registrations_recognise_client_shutdown(served: Served) -> None:
    registrations = [(a.qualname, a.is_posthog, a.client_id) for a in served.observations.atexit]
    assert registrations == [("Client.shutdown", True, 0), ("_marker", False, None)]
    assert served.exit_code == 0
    assert served.observations.stop_signal == "SIGTERM"
    assert served.observations.exited


def test_non_posthog_outbound_request_is_refused_and_recorded(served: Served) -> None:
    status, body = served.answers["/outbound"]
    assert status == 200
    assert b"posthog-verify refused an outbound request to https://example.com/" in body
    outbound = [(o.action, o.url, o.via) for o in served.observations.outbound]
    assert outbound == [("refused", "https://example.com/", "requests")]


def test_hardcoded_posthog_host_lands_in_the_mock(tmp_path: Path) -> None:
    served = serve_and_drive(tmp_path, "hardcoded_host", "app:app", [("/", 0)])
    requests = [r for r in served.mock.store.requests() if r.path == "/batch/"]
    assert requests, served.stderr
    assert {r.original_host for r in requests} == {"us.i.posthog.com"}
    assert [e.event for e in served.mock.store.events()] == ["hardcoded_event"]
    redirected = {(o.action, o.original_host) for o in served.observations.outbound}
    assert redirected == {("redirected", "us.i.posthog.com")}
