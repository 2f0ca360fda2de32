"""The bounds seen from a verification: a workspace past its limit, a mock
past its budget, and one copy of the user's tree per app."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import run_checks
from harness.subject.workspace import fresh_copy
from harness.verdict import Status
from harness.verify import Options
from harness.verify import no_env_copy
from harness.verify import verify_app
from harness.verify_inprocess import verify_in_process

pytestmark = pytest.mark.slow

REFERENCE = Path(__file__).resolve().parents[1] / "target_apps" / "reference"


def test_a_workspace_past_its_limit_errors_every_check_naming_the_limit_and_the_fix() -> None:
    run = verify_app(REFERENCE, name="reference", options=Options(workspace_limit_bytes=1024))
    results = run_checks(run)
    assert {r.status for r in results} == {Status.ERROR}
    summary = results[0].summary
    assert "past the limit of 1.0 KiB" in summary
    assert "--posthog-workspace-limit" in summary


def test_past_the_mock_budget_the_checks_that_read_events_error_and_the_rest_are_judged() -> None:
    run = verify_app(REFERENCE, name="reference", options=Options(mock_budget_bytes=300))
    results = {r.check_id: r for r in run_checks(run)}
    errored = {c for c, r in results.items() if r.status is Status.ERROR}
    assert errored == {
        "key_from_env",
        "exception_captured",
        "flush_on_shutdown",
        "identify_on_signup",
        "identify_on_login",
        "no_pii_in_events",
        "distinct_id_from_header",
        "session_id_from_header",
        "no_silent_drops",
    }
    assert "the mock's budget of 300 bytes per app was spent" in results["no_pii_in_events"].summary
    assert "--posthog-mock-limit" in results["no_pii_in_events"].summary
    for judged in ("boots", "host_from_env", "single_client", "exception_autocapture"):
        assert results[judged].status is Status.PASS, results[judged]
    assert any(r.truncated for r in run.requests)


def test_the_no_env_boot_gets_a_clone_not_a_second_copy(tmp_path: Path) -> None:
    main = fresh_copy(REFERENCE, tmp_path / "main", limit_bytes=1024**3)
    spare = no_env_copy(main, tmp_path)
    assert (main / "app" / "__init__.py").samefile(spare / "app" / "__init__.py")
    assert sorted(p.name for p in main.iterdir()) == sorted(p.name for p in spare.iterdir())


def test_in_process_a_workspace_past_its_limit_is_error_too() -> None:
    run = verify_in_process(REFERENCE, name="reference", workspace_limit_bytes=1024)
    boots = next(r for r in run_checks(run) if r.check_id == "boots")
    assert boots.status is Status.ERROR
    assert "past the limit of 1.0 KiB" in boots.summary
