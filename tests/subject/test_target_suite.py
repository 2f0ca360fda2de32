"""The app's own test suite (harness/subject/suite.py): found, run sandboxed in
a fresh copy, read per test from pytest's junit XML; and what it says when it
cannot tell anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.subject.suite import has_suite
from harness.subject.suite import read_junit
from harness.subject.suite import run_suite

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.test_app" name="test_ok" time="0.01"/>
<testcase classname="tests.test_app" name="test_broken" time="0.01">
  <failure message="assert '&lt;label for=&quot;email&quot;&gt;' in html&#10;second line">
    trace</failure>
</testcase>
<testcase classname="tests.test_app" name="test_skipped"><skipped message="no db"/></testcase>
<testcase classname="tests.test_app.TestApi" name="test_teardown"/>
<testcase classname="tests.test_app.TestApi" name="test_teardown">
  <error message="failed on teardown with &quot;OSError&quot;">x</error>
</testcase>
</testsuite></testsuites>
"""


def test_junit_gives_each_tests_outcome_and_first_failure_line(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    tests, messages = read_junit(path)
    assert tests == {
        "tests.test_app::test_ok": "passed",
        "tests.test_app::test_broken": "failed",
        "tests.test_app::test_skipped": "skipped",
        "tests.test_app.TestApi::test_teardown": "error",  # its teardown error wins
    }
    assert messages == {
        "tests.test_app::test_broken": "assert '<label for=\"email\">' in html",
        "tests.test_app.TestApi::test_teardown": 'failed on teardown with "OSError"',
    }


def test_no_or_broken_junit_is_no_outcome(tmp_path: Path) -> None:
    assert read_junit(tmp_path / "missing.xml") == ({}, {})
    (tmp_path / "bad.xml").write_text("<testsuites")
    assert read_junit(tmp_path / "bad.xml") == ({}, {})


def test_a_suite_is_tests_or_test_modules(tmp_path: Path) -> None:
    assert not has_suite(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("")
    assert not has_suite(tmp_path)  # a conftest alone tests nothing
    (tmp_path / "tests" / "test_x.py").write_text("")
    assert has_suite(tmp_path)
    top = tmp_path / "top"
    top.mkdir()
    (top / "test_app.py").write_text("")
    assert has_suite(top)


def _app_with_tests(root: Path) -> Path:
    root.mkdir()
    (root / "app.py").write_text("def answer() -> int:\n    return 42\n")
    (root / "test_app.py").write_text(
        "import os\nfrom app import answer\n\n"
        "def test_answer():\n    assert answer() == 42\n\n"
        "def test_no_posthog_env():\n    assert 'POSTHOG_KEY' not in os.environ\n\n"
        "def test_wrong():\n    assert answer() == 41, 'the answer moved'\n"
    )
    return root


@pytest.mark.slow
def test_the_suite_runs_sandboxed_in_a_copy_and_reports_per_test(tmp_path: Path) -> None:
    app = _app_with_tests(tmp_path / "app")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    outcome = run_suite(app, tmp_path / "work", python=sys.executable, env=env, timeout_s=120)
    assert outcome is not None
    assert outcome.exit_code == 1, outcome.output_tail
    assert outcome.tests == {
        "test_app::test_answer": "passed",
        "test_app::test_no_posthog_env": "passed",
        "test_app::test_wrong": "failed",
    }
    assert outcome.messages["test_app::test_wrong"].startswith("AssertionError: the answer moved")
    assert outcome.note == ""
    assert not (app / "__pycache__").exists()  # it ran in the copy, not in the app
    assert not (app / ".pytest_cache").exists()


@pytest.mark.slow
def test_a_suite_that_cannot_run_says_why(tmp_path: Path) -> None:
    app = _app_with_tests(tmp_path / "app")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    # An interpreter without pytest: the system's, isolated from site-packages.
    no_pytest = tmp_path / "python-without-pytest"
    no_pytest.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    no_pytest.chmod(0o755)
    outcome = run_suite(app, tmp_path / "work", python=str(no_pytest), env=env, timeout_s=120)
    assert outcome is not None
    assert outcome.tests == {}
    assert (
        outcome.note == "pytest is not importable by the app's interpreter: the suite was not run"
    )
    assert (
        run_suite(tmp_path / "work", tmp_path / "w2", python=sys.executable, env=env, timeout_s=5)
        is None
    )
