"""No output shows a secret the app was given, however the app quotes it.

The app in ``tests/apps/faulty/secret_in_boot_error`` prints its DATABASE_URL
(with a password), its SECRET_KEY and the injected token on stderr and in its
boot exception; the checks quote both. The JSON, the Markdown, the terminal
and JUnit XML must show each only masked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "apps" / "faulty" / "secret_in_boot_error"
PASSWORD = "hunter2-synthetic"
DATABASE_URL = f"postgres://shop:{PASSWORD}@db.internal:5432/shop"
SECRET_KEY = "synthetic-flask-signing-key-5b1f"
TOKEN_SHAPE = re.compile(r"phc_posthogverify_test_[0-9a-f]{12}")


def test_secrets_in_a_boot_error_are_masked_in_every_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    report, markdown, junit = (pytester.path / n for n in ("r.json", "r.md", "junit.xml"))
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        "--posthog-app",
        str(APP),
        "--posthog-report",
        str(report),
        "--posthog-report-md",
        str(markdown),
        f"--junitxml={junit}",
        "-rA",
        "-o",
        "junit_logging=all",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "json": report.read_text(),
        "markdown": markdown.read_text(),
        "junit": junit.read_text(),
    }
    for name, text in outputs.items():
        assert PASSWORD not in text, name
        assert SECRET_KEY not in text, name
        assert not TOKEN_SHAPE.search(text), (name, TOKEN_SHAPE.search(text))
    # The app's words did arrive, masked: the first characters and the length.
    for name in ("terminal", "json", "junit"):
        text = outputs[name]
        assert f"postgres://shop:…({len(PASSWORD)} chars)@db.internal" in text, name
        assert f"key {SECRET_KEY[:4]}…({len(SECRET_KEY)} chars)" in text, name
        assert "token phc_post…(35 chars)" in text, name
    assert "phc_post…(35 chars)" in outputs["markdown"]
