"""Errors read like failures: the message and the fix, once per cause, no pytest internals."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from harness.checks import CHECK_IDS


def test_an_empty_folder_is_one_short_block(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app=empty")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=len(CHECK_IDS))
    out = result.outlines
    assert len(out) < 30, "\n".join(out)
    text = "\n".join(out)
    errors = text[text.index("= ERRORS =") : text.index("= posthog-verify =")]
    # the cause and the fix, said once for the app, in one block
    assert errors.count("ERROR at setup of") == 1
    assert errors.count("No Flask app found in empty.") == 1
    assert errors.count("Fix: add posthog-verify.toml") == 1
    others = len(CHECK_IDS) - 1
    assert f"(the same for {others} other check(s) of empty: boots_without_posthog_env" in text
    assert "Looked at:)" not in text  # the cause no longer ends in a dangling list header
    # no traceback, no harness or pytest frames
    for internal in ("Traceback", "_pytest", "pluggy", "harness/items.py", "def from_call"):
        assert internal not in errors
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of empty::boots*",
            f"empty::boots (+{len(CHECK_IDS) - 1} checks) ERROR*",
            f"ERROR empty::boots - (+{len(CHECK_IDS) - 1} checks, same cause) not judged: *",
            f"*{len(CHECK_IDS)} errors in*",
        ]
    )


def test_every_error_still_counts_in_junit(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app=empty", f"--junitxml={junit}"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cases = ET.parse(junit).getroot().iter("testcase")
    errors = [case for case in cases if case.find("error") is not None]
    assert len(errors) == len(CHECK_IDS)


def test_junit_property_is_json(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    junit = pytester.path / "junit.xml"
    pytester.runpytest_subprocess("--posthog-verify", "--posthog-app=empty", f"--junitxml={junit}")
    values = [
        prop.get("value", "")
        for prop in ET.parse(junit).getroot().iter("property")
        if prop.get("name") == "posthog_verify"
    ]
    assert len(values) == len(CHECK_IDS)
    data = json.loads(values[0])  # JSON, not a Python repr
    assert data["app"] == "empty"
    assert data["path"] == "empty"  # relative to where pytest ran
    assert data["result"]["status"] == "error"
    assert "No Flask app found in empty." in data["result"]["summary"]


def test_two_unjudged_apps_are_two_blocks(pytester: pytest.Pytester) -> None:
    pytester.mkdir("one")
    pytester.mkdir("two")
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app=one", "--posthog-app=two"
    )
    text = result.stdout.str()
    assert text.count("ERROR at setup of") == 2
    assert "No Flask app found in one." in text
    assert "No Flask app found in two." in text
    result.assert_outcomes(errors=2 * len(CHECK_IDS))
