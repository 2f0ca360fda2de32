"""Failed steps, through the plugin as a user runs it: the integration's
TypeError on every request of ``integration_teardown_exit`` is named, with its
file:line, in the terminal, the Markdown summary and the JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[2] / "target_apps" / "integration_teardown_exit"
CAUSE = "TypeError: _GeneratorContextManager.__exit__() missing 2 required positional arguments"


def test_failed_steps_are_in_every_output(pytester: pytest.Pytester) -> None:
    report, markdown, junit = (pytester.path / n for n in ("r.json", "s.md", "junit.xml"))
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={APP}",
        f"--posthog-report={report}",
        f"--posthog-report-md={markdown}",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["integration_teardown_exit STEP", "*anon_browse: GET / answe*"])
    assert "Failed steps:" in markdown.read_text()
    assert CAUSE in markdown.read_text()
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    message = cases["identify_on_signup"].find("failure")
    assert message is not None
    assert "failed steps:" in (message.text or "")
    assert "signup: GET /signup answered 500: " + CAUSE in (message.text or "")
    steps = json.loads(report.read_text())["apps"][0]["steps"]
    assert steps[0]["failure"]["location"].startswith("wsgi.py:")
