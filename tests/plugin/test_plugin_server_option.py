"""--posthog-server gunicorn: the same verdicts under a production WSGI server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checks.ids import GUIDANCE_IDS
from target_apps.materialize import app_dir

pytestmark = pytest.mark.slow

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"


def test_gunicorn_runs_the_apps_and_its_sigterm_exercises_the_flush(
    pytester: pytest.Pytester,
) -> None:
    report = pytester.path / "report.json"
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={TARGET_APPS / 'reference'}",
        f"--posthog-app={app_dir('broken_no_shutdown')}",
        "--posthog-server=gunicorn",
        f"--posthog-report={report}",
    )
    result.stdout.fnmatch_lines(["*server gunicorn (from option)*"])
    verdicts = {
        (a["app"], c["id"]): c["status"]
        for a in json.loads(report.read_text())["apps"]
        for c in a["checks"]
    }
    assert {verdicts["reference", c] for c in GUIDANCE_IDS} == {"pass"}
    assert verdicts["broken_no_shutdown", "flush_on_shutdown"] == "fail"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
