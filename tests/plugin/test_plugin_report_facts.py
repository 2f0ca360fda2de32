"""--posthog-report and --posthog-report-html after a real run: the settings and
their sources, and per app what the run was (discovery, steps, isolation, versions)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.report import load_schema

pytestmark = pytest.mark.slow


def test_json_report_carries_settings_and_app_facts(
    pytester: pytest.Pytester, reference_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_TIMEOUT", "20")
    pytester.mkdir("empty")
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={reference_app}",
        "--posthog-app=empty",
        "--posthog-report=out/report.json",
        "--posthog-report-html=out/grades.html",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the empty folder errors
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    jsonschema.validate(report, load_schema())
    assert report["schema_version"] == "2"
    settings = report["settings"]
    assert settings["timeout"] == {"value": 20.0, "source": "env POSTHOG_VERIFY_TIMEOUT"}
    assert settings["server"] == {"value": "werkzeug", "source": "default"}
    assert settings["report"] == {"value": "out/report.json", "source": "option"}
    apps = {app["app"]: app for app in report["apps"]}
    assert apps["empty"]["path"] == "empty"  # relative to where pytest ran
    reference = apps["reference"]
    assert reference["discovery"]["target"].endswith("create_app")
    assert reference["discovery"]["found_by"]
    assert {form["kind"] for form in reference["discovery"]["forms"]} >= {"signup", "login"}
    steps = reference["steps"]
    assert [s["step"] for s in steps][:2] == ["anon_browse", "signup"]
    assert {s["status"] for s in steps} <= {"ok", "unexpected", "failed", "no answer"}
    assert steps[0]["request"] == "GET /"
    assert steps[0]["http_status"] == 200
    assert reference["isolation"]
    assert set(reference["versions"]) >= {"python", "flask", "posthog"}
    assert reference["versions_source"]
    assert reference["grade"]["serves"] is True
    assert apps["empty"]["grade"]["reason"].startswith("could not be booted")
    html = (pytester.path / "out" / "grades.html").read_text()
    assert html.index(">reference<") < html.index(">empty<")  # ranked: a working app first
