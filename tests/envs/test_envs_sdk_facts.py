"""The SDK facts the checks rest on, measured on every supported SDK we test.

docs/checks.md's facts were found on posthog 7.x; the checks must not assume
them on another version. Each fact is run by ``sdk_facts_probe.py`` in the
app's interpreter (pytest's, then the second combination's posthog 6.0.0)
against the loopback mock, and compared with what that version is known to do
(:mod:`harness.subject.runtime` holds the version boundaries the checks use).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import typing as t
from pathlib import Path

import pytest

from harness.capture import CaptureServer
from harness.capture import RequestKind
from harness.subject.interpreter import app_side_root
from harness.subject.runtime import EXIT_BUDGET_SINCE
from harness.subject.runtime import FLASK_INTEGRATION_SINCE
from harness.subject.runtime import SDK_API_SINCE
from harness.subject.runtime import parse_version

PROBE = Path(__file__).with_name("sdk_facts_probe.py")
pytestmark = pytest.mark.slow


def _probe(python: str, fact: str, mock: CaptureServer) -> dict[str, t.Any]:
    env = os.environ | {"PYTHONPATH": str(app_side_root())}
    proc = subprocess.run(
        [python, str(PROBE), fact, mock.url], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return t.cast(dict[str, t.Any], json.loads(proc.stdout.splitlines()[-1]))


def _attempts(mock: CaptureServer) -> list[tuple[int, float]]:
    requests = mock.store.requests(RequestKind.CAPTURE)
    start = requests[0].received_at if requests else 0.0
    return [(r.status, r.received_at - start) for r in requests]


def test_context_api_tags_identity_and_session(any_python: str) -> None:
    with CaptureServer() as mock:
        seen = _probe(any_python, "context", mock)
        (event,) = mock.store.events()
    assert seen["api"] == ["new_context", "identify_context", "tag", "set_context_session"]
    assert event.distinct_id == "ctx-user"
    assert event.properties["plan"] == "pro"  # a tag is an event property: PII there leaks
    assert event.properties["$session_id"] == "ctx-session"


def test_sync_mode_sends_before_capture_returns(any_python: str) -> None:
    with CaptureServer() as mock:
        seen = _probe(any_python, "sync", mock)
        assert [status for status, _ in _attempts(mock)] == [200]
    if parse_version(seen["posthog"]) < (7,):
        # posthog 6.0.0: shutdown() of a sync client raises (it has no consumers).
        assert seen["shutdown_error"] == "TypeError: 'NoneType' object is not iterable"
    else:
        assert "shutdown_error" not in seen


def test_retry_backoff_after_a_5xx(any_python: str) -> None:
    with CaptureServer() as mock:
        mock.faults.fail_next(2, 500)
        seen = _probe(any_python, "retry", mock)
        attempts = _attempts(mock)
    assert [status for status, _ in attempts] == [500, 500, 200]
    gaps = [later[1] - earlier[1] for earlier, later in itertools.pairwise(attempts)]
    # Only lower bounds: a loaded machine lengthens a gap, never shortens it.
    # 6.x retries through the backoff library (exponential with full jitter,
    # so any gap from 0); 7.x sleeps 1 s, then 2 s: a stop that does not wait
    # for shutdown() loses the retried batch (what flush_on_shutdown provokes).
    if parse_version(seen["posthog"]) >= (7,):
        assert gaps[0] >= 1.0
        assert gaps[1] >= 2.0


def test_exit_without_shutdown(any_python: str) -> None:
    """The stop fault flush_on_shutdown arms: the first batch after the stop is refused."""
    with CaptureServer() as mock:
        mock.faults.fail_next(1, 500)
        seen = _probe(any_python, "exit", mock)
        attempts = [status for status, _ in _attempts(mock)]
    if parse_version(seen["posthog"]) >= EXIT_BUDGET_SINCE:
        assert attempts == [500]  # the 1 s budget ends before the 1 s backoff: lost
    else:
        assert attempts == [500, 200]  # the atexit join retries the batch in flight


def test_flask_integration_properties(any_python: str) -> None:
    with CaptureServer() as mock:
        seen = _probe(any_python, "flask", mock)
        events = mock.store.events()
    if parse_version(seen["posthog"]) < FLASK_INTEGRATION_SINCE:
        assert seen["integration"] is False
        assert events == []
        return
    (event,) = events
    assert event.distinct_id == "header-user"
    props = event.properties
    assert props["$session_id"] == "header-session"
    assert props["$current_url"] == "http://localhost/hello"
    assert props["$ip"] == "198.51.100.7"
    assert props["$user_agent"] == "facts-agent/1"


def test_each_later_api_is_there_or_named_with_its_release(any_python: str) -> None:
    """The table the blame rule reads (SDK_API_SINCE) against the real SDK:
    from its release on the API works; before it, the exception an app gets is
    read as the environment's, naming that release."""
    with CaptureServer() as mock:
        seen = _probe(any_python, "apis", mock)
    assert set(seen["apis"]) == set(SDK_API_SINCE)
    version = parse_version(seen["posthog"])
    for name, since in SDK_API_SINCE.items():
        if version >= since:
            assert seen["apis"][name] is None, name
        else:
            release = ".".join(map(str, since))
            assert f"does not have (it ships from posthog {release} on" in seen["apis"][name]


def test_a_module_level_call_without_a_key(any_python: str) -> None:
    """posthog 6.0.0 raises where 7.x drops the event: correct_module_level and
    login_on_landing answer 500 without a key there, broken_module_capture's
    stray call answers 500 instead of vanishing (test_envs_second_combination)."""
    with CaptureServer() as mock:
        seen = _probe(any_python, "module_without_key", mock)
        assert mock.store.events() == []
    if parse_version(seen["posthog"]) < (7,):
        assert seen["raised"] == "ValueError: API key is required"
    else:
        assert seen["raised"] is None


def test_shutdown_under_a_long_flush_interval(any_python: str) -> None:
    """posthog 6.0.0's consumer collects a batch until flush_interval has passed,
    and shutdown() waits for it: broken_refused_at_stop (flush_interval=30)
    outlasts the stop deadline there; 7.x sends at once."""
    with CaptureServer() as mock:
        seen = _probe(any_python, "held_batch", mock)
        delivered = [e.event for e in mock.store.events()]
    if parse_version(seen["posthog"]) < (7,):
        assert seen["shut_down_within_10_s"] is False
        assert delivered == []
    else:
        assert seen["shut_down_within_10_s"] is True
        assert delivered == ["held"]
