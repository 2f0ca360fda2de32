"""A real verification through the plugin: exit codes, evidence, summary, reports."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from target_apps.materialize import app_dir

pytestmark = pytest.mark.slow


def test_reference_passes_and_exits_zero(pytester: pytest.Pytester, reference_app: Path) -> None:
    report = pytester.path / "out.json"
    markdown = pytester.path / "summary.md"
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        "--posthog-app",
        str(reference_app),
        "--posthog-report",
        str(report),
        "--posthog-report-md",
        str(markdown),
        f"--junitxml={junit}",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*= posthog-verify =*", "*reference*"])
    data = json.loads(report.read_text())
    schema = json.loads(resources.files("harness.report").joinpath("schema.json").read_text())
    jsonschema.validate(data, schema)
    assert [a["app"] for a in data["apps"]] == ["reference"]
    assert data["apps"][0]["status"] in ("pass", "warn")
    assert "reference" in markdown.read_text()
    assert 'name="no_pii_in_events"' in junit.read_text()


def test_broken_app_fails_naming_the_check_and_evidence(
    pytester: pytest.Pytester, broken_app: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app", str(broken_app), "-k", "no_pii or boots"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*no_pii_in_events: fail:*", "*FAILED *broken_pii_tag::no_pii_in_events*"]
    )
    assert "email" in result.stdout.str()


def test_a_warning_is_reported_but_never_fails_the_run(pytester: pytest.Pytester) -> None:
    app = app_dir("correct_flask_integration")
    result = pytester.runpytest_subprocess(
        "--posthog-verify", f"--posthog-app={app}", "-k", "no_pii_in_events"
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["correct_flask_integration::no_pii_in_events WARN", "*$ip*", "*1 passed*"]
    )
