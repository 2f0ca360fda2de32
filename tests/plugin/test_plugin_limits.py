"""--posthog-workspace-limit and --posthog-mock-limit: parsed, resolved, obeyed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--posthog-workspace-limit", "lots"],
            "*--posthog-workspace-limit: expected a size such as 500M or 2G, got 'lots'*",
            id="workspace",
        ),
        pytest.param(
            ["--posthog-mock-limit", "0"],
            "*--posthog-mock-limit: expected a size such as 500M or 2G, got '0'*",
            id="mock",
        ),
    ],
)
def test_bad_sizes_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def _summaries(report: Path) -> dict[str, str]:
    (app,) = json.loads(report.read_text())["apps"]
    return {c["id"]: f"{c['status']}: {c['summary']}" for c in app["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["option", "env"])
def test_the_workspace_limit_is_obeyed_from_the_option_or_the_env(
    pytester: pytest.Pytester, reference_app: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    report = pytester.path / "r.json"
    args = ["--posthog-verify", "--posthog-app", str(reference_app), f"--posthog-report={report}"]
    if how == "option":
        args.append("--posthog-workspace-limit=2K")
    else:
        monkeypatch.setenv("POSTHOG_VERIFY_WORKSPACE_LIMIT", "2K")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    summaries = _summaries(report)
    assert all(s.startswith("error: ") for s in summaries.values()), summaries
    assert "past the limit of 2.0 KiB" in summaries["boots"]


@pytest.mark.slow
def test_the_mock_limit_from_the_ini_file_errors_the_checks_that_read_events(
    pytester: pytest.Pytester, reference_app: Path
) -> None:
    ini = pytester.makeini("[pytest]\nposthog_mock_limit = 300\n")
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(
        "-c",
        str(ini),  # the app's folder has a pytest.ini of its own
        "--posthog-verify",
        "--posthog-app",
        str(reference_app),
        f"--posthog-report={report}",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    summaries = _summaries(report)
    assert summaries["boots"].startswith("pass")
    assert summaries["no_pii_in_events"].startswith("error: ")
    assert "the mock's budget of 300 bytes per app was spent" in summaries["no_pii_in_events"]
