"""The shared rules of run_checks: catalogue, skip, boot failure, faults."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from checks_runs import good_run

from harness.checks import CHECK_IDS
from harness.checks import CHECKS
from harness.checks import not_applicable
from harness.checks import run_checks
from harness.checks._rules import apply_rules
from harness.checks.ids import GUIDANCE_IDS
from harness.checks.ids import READ_EVENTS
from harness.run import BootFailure
from harness.run import Phase
from harness.verdict import Result
from harness.verdict import Status

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
TRACEBACK = """Traceback (most recent call last):
  File "/apps/reference/app.py", line 3, in <module>
    from config import settings
  File "/apps/reference/config.py", line 9, in <module>
    KEY = os.environ["MISSING"]
KeyError: 'MISSING'
"""


def _by_id(results: list[Result]) -> dict[str, Result]:
    return {r.check_id: r for r in results}


# good_run has no setup report and no tracking plan: those checks skip whatever happens.
NOTHING_TO_JUDGE = frozenset(not_applicable(good_run()))


def _judged(results: list[Result]) -> list[Result]:
    """The results of the checks that apply, after asserting the others skip."""
    assert {r.status for r in results if r.check_id in NOTHING_TO_JUDGE} <= {Status.SKIP}
    return [r for r in results if r.check_id not in NOTHING_TO_JUDGE]


def test_checks_are_in_catalogue_order_of_the_docs() -> None:
    documented = re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(), flags=re.M)
    assert list(CHECKS) == list(CHECK_IDS) == documented


def test_good_run_yields_one_result_per_check_in_order() -> None:
    results = run_checks(good_run())
    assert [r.check_id for r in results] == list(CHECK_IDS)


def test_manifest_skip_gives_skip_with_the_reason() -> None:
    results = _by_id(run_checks(good_run(skip={"flush_on_shutdown": "we use gunicorn hooks"})))
    assert results["flush_on_shutdown"].status is Status.SKIP
    assert results["flush_on_shutdown"].summary == "we use gunicorn hooks"
    assert results["boots"].status is Status.PASS


def test_app_raised_fails_boots_with_traceback_and_errors_the_rest() -> None:
    failure = BootFailure(Phase.IMPORT, "the module raised", app_raised=True, detail=TRACEBACK)
    results = _by_id(run_checks(good_run(boot_failure=failure)))
    boots = results["boots"]
    assert boots.status is Status.FAIL
    assert "KeyError: 'MISSING'" in boots.summary
    assert boots.evidence[0]["location"] == "config.py:9"
    others = [r for r in _judged(list(results.values())) if r.check_id != "boots"]
    assert {r.status for r in others} == {Status.ERROR}
    assert all(r.summary == "not judged: the app did not boot" for r in others)


@pytest.mark.parametrize("phase", [Phase.DISCOVER, Phase.IMPORT, Phase.BOOT], ids=lambda p: p.value)
def test_harness_boot_failure_errors_every_check_naming_phase_and_cause(phase: Phase) -> None:
    failure = BootFailure(phase, "no answer on GET / within 20 s")
    results = run_checks(good_run(boot_failure=failure))
    if phase is not Phase.DISCOVER:  # an app not found has unknown claims: error too
        results = _judged(results)
    assert {r.status for r in results} == {Status.ERROR}
    assert all(phase.value in r.summary and "within 20 s" in r.summary for r in results)


def test_failure_during_the_drive_errors_what_needed_the_drive_only() -> None:
    failure = BootFailure(Phase.REQUEST, "connection reset during POST /signup")
    results = _by_id(run_checks(good_run(boot_failure=failure)))
    assert results["boots"].status is Status.PASS
    assert results["exception_autocapture"].status is Status.PASS
    assert results["no_pii_in_events"].status is Status.ERROR
    assert "connection reset" in results["identify_on_signup"].summary


def test_failure_in_the_stop_phase_errors_flush_on_shutdown_only() -> None:
    failure = BootFailure(Phase.STOP, "still running 10 s after SIGTERM")
    results = _by_id(run_checks(good_run(boot_failure=failure)))
    assert results["flush_on_shutdown"].status is Status.ERROR
    assert "after SIGTERM" in results["flush_on_shutdown"].summary
    assert all(results[c].status is Status.PASS for c in GUIDANCE_IDS if c != "flush_on_shutdown")


def test_a_stop_killed_before_any_delivery_leaves_the_delivery_unjudged() -> None:
    """posthog 6.0.0 with flush_interval=30 holds its batch past the stop
    deadline: nothing arrived, so nothing that reads what arrived can judge."""
    failure = BootFailure(Phase.STOP, "the app did not stop: SIGKILL after SIGTERM timeout (10 s)")
    results = _by_id(run_checks(good_run(boot_failure=failure, events=())))
    unjudged = {c for c, r in results.items() if r.status is Status.ERROR}
    assert unjudged == {*READ_EVENTS, "host_from_env"}
    assert results["no_silent_drops"].summary == (
        "not judged: the stop failed before any event was delivered (stop: the app did not "
        "stop: SIGKILL after SIGTERM timeout (10 s))"
    )
    assert results["single_client"].status is Status.PASS  # the boot's records still count


def test_a_capture_server_fault_errors_every_check() -> None:
    results = _judged(
        run_checks(good_run(harness_errors=("mock thread raised OSError: [Errno 24]",)))
    )
    assert {r.status for r in results} == {Status.ERROR}
    assert all("Errno 24" in r.summary for r in results)


@pytest.mark.parametrize(
    ("fault", "touched"),
    [
        pytest.param("stop: SIGTERM could not be sent", "flush_on_shutdown", id="stop"),
        pytest.param("no_env: temp dir vanished", "boots_without_posthog_env", id="no_env"),
        pytest.param("single_client: records unreadable", "single_client", id="check-id"),
    ],
)
def test_a_scoped_fault_errors_only_its_check(fault: str, touched: str) -> None:
    results = _by_id(run_checks(good_run(harness_errors=(fault,))))
    assert results[touched].status is Status.ERROR
    assert all(results[c].status is Status.PASS for c in GUIDANCE_IDS if c != touched)


def test_a_check_that_raises_is_an_error_never_a_verdict() -> None:
    def broken(run: object) -> Result:
        raise KeyError("properties")

    checks = {**CHECKS, "no_pii_in_events": broken}
    results = _by_id(apply_rules(good_run(), checks))
    verdict = results["no_pii_in_events"]
    assert verdict.status is Status.ERROR
    assert "KeyError" in verdict.summary
    assert "test_checks_rules.py" in verdict.evidence[0]["location"]
    assert results["boots"].status is Status.PASS


def test_checks_do_not_mutate_the_run() -> None:
    run = good_run()
    before = dataclasses.asdict(run)
    run_checks(run)
    assert dataclasses.asdict(run) == before
