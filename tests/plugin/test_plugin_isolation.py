"""The report header names the isolation apps will run under, and where it
comes from the fallback, says what the fallback cannot stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.subject.sandbox import GUARD_ONLY
from harness.subject.sandbox import NAMESPACES
from harness.subject.sandbox import isolation

APP = Path(__file__).resolve().parents[1] / "apps" / "faulty" / "healthy"


@pytest.mark.skipif(isolation() != NAMESPACES, reason="namespaces are unavailable here")
def test_the_header_names_the_namespaces(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app", str(APP), "--co")
    result.stdout.fnmatch_lines([f"posthog-verify: isolation {NAMESPACES}"])


def test_the_header_says_what_the_fallback_cannot_stop(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_ISOLATION", "guard")
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app", str(APP), "--co")
    result.stdout.fnmatch_lines([f"posthog-verify: isolation {GUARD_ONLY}"])
    assert "a subprocess or native code the app runs can bypass it" in result.stdout.str()


def test_a_bad_isolation_value_is_named_with_the_fix(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_ISOLATION", "none")
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app", str(APP), "--co")
    expected = "POSTHOG_VERIFY_ISOLATION='none': expected 'auto' or 'guard'"
    result.stdout.fnmatch_lines([f"posthog-verify: isolation unknown: {expected}"])
