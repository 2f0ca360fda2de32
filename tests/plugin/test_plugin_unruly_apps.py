"""Apps that hang, crash or are misconfigured: each is an ``error`` naming the
phase and the cause, and the other apps in the same run are still judged."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from harness.checks.ids import GUIDANCE_IDS

pytestmark = pytest.mark.slow

APPS = Path(__file__).resolve().parents[1] / "apps"
TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"


@pytest.fixture(scope="module")
def unruly_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    out = tmp_path_factory.mktemp("unruly") / "report.json"
    args = [
        "--posthog-verify",
        f"--posthog-app={APPS / 'unruly' / '*'}",
        f"--posthog-app={APPS / 'faulty' / 'ignores_sigterm'}",
        f"--posthog-app={APPS / 'faulty' / 'holds_events_ignores_sigterm'}",
        f"--posthog-app={TARGET_APPS / 'reference'}",
        "--posthog-timeout=2",
        f"--posthog-report={out}",
        "-p",
        "no:cacheprovider",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-3000:]
    return t.cast(dict[str, t.Any], json.loads(out.read_text()))


def checks(report: dict[str, t.Any], app: str) -> dict[str, dict[str, t.Any]]:
    entry = next(a for a in report["apps"] if a["app"] == app)
    return {c["id"]: c for c in entry["checks"]}


def test_a_bad_manifest_errors_every_check_naming_file_and_key(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "bad_manifest")
    assert {r["status"] for r in results.values()} == {"error"}
    summary = results["boots"]["summary"]
    assert "posthog-verify.toml: [signup] key 'feilds' is not allowed" in summary
    assert "Did you mean 'fields'?" in summary


def test_a_hanging_import_errors_at_boot(unruly_report: dict[str, t.Any]) -> None:
    boots = checks(unruly_report, "hang_import")["boots"]
    assert boots["status"] == "error"
    assert "not ready within 2 s: hung while importing the app's module" in boots["summary"]


def test_a_process_that_dies_mid_scenario_errors_naming_request_and_exit_code(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "exit_on_signup")
    identify = results["identify_on_signup"]
    assert identify["status"] == "error"
    assert "request" in identify["summary"]
    assert "exit code 7" in identify["summary"]
    assert results["boots"]["status"] == "pass"  # it did boot and serve


def steps(report: dict[str, t.Any], app: str) -> list[dict[str, t.Any]]:
    entry = next(a for a in report["apps"] if a["app"] == app)
    return t.cast(list[dict[str, t.Any]], entry["steps"])


@pytest.mark.parametrize(
    ("app", "how"),
    [("exit_on_signup", "exit code 7"), ("segfault_on_signup", "killed by signal SIGSEGV")],
)
def test_a_crash_names_the_request_that_crashed_not_the_next_one(
    unruly_report: dict[str, t.Any], app: str, how: str
) -> None:
    summary = checks(unruly_report, app)["identify_on_signup"]["summary"]
    assert f"died while serving request 2 (signup: POST /signup), {how}" in summary
    crashed = steps(unruly_report, app)[2]
    assert (crashed["step"], crashed["request"], crashed["http_status"]) == (
        "signup",
        "POST /signup",
        None,
    )
    assert crashed["status"] == "no answer"
    assert crashed["failure"]["cause"] == f"the process died while serving this request ({how})"


def test_systemexit_in_a_view_is_an_error_naming_the_step_and_line(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "systemexit_on_signup")
    assert results["identify_on_signup"]["status"] == "error"
    assert results["identify_on_signup"]["summary"] == (
        "not judged: signup did not answer: SystemExit: 3 (app.py:23)"
    )
    assert results["boots"]["status"] == "pass"
    failed = [s for s in steps(unruly_report, "systemexit_on_signup") if s["failure"]]
    assert [(s["step"], s["failure"]["location"]) for s in failed] == [("signup", "app.py:23")]


def test_a_hanging_request_is_cut_off_and_the_drive_goes_on(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "hang_on_signup")
    assert results["identify_on_signup"]["status"] == "error"
    assert results["identify_on_signup"]["summary"].startswith(
        "not judged: signup did not answer: no answer within 2 s (the request deadline)"
    )
    assert "pass" not in {results[c]["status"] for c in ("no_pii_in_events", "identify_on_signup")}
    # Later steps still ran: the probe was requested after the hung signup.
    assert results["exception_captured"]["status"] == "fail"


def test_an_app_that_ignores_sigterm_errors_the_flush_check_only(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "ignores_sigterm")
    assert results["flush_on_shutdown"]["status"] == "error"
    assert "SIGKILL after SIGTERM timeout (2 s)" in results["flush_on_shutdown"]["summary"]
    assert results["boots"]["status"] == "pass"


def test_events_still_held_when_the_stop_is_killed_are_not_the_apps_drops(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "holds_events_ignores_sigterm")
    drops = results["no_silent_drops"]
    assert drops["status"] == "error", drops
    assert "had not reached the mock when the stop was killed at its deadline" in drops["summary"]
    assert results["flush_on_shutdown"]["status"] == "error"
    assert results["boots"]["status"] == "pass"


def test_the_healthy_app_in_the_same_run_is_still_judged(
    unruly_report: dict[str, t.Any],
) -> None:
    results = checks(unruly_report, "reference")
    assert {results[c]["status"] for c in GUIDANCE_IDS} == {"pass"}, results
