"""--posthog-report-html (and its ini key): one self-contained grade book file."""

from __future__ import annotations

import re

import pytest


def test_option_writes_the_grade_book(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app=empty", "--posthog-report-html=out/grades.html"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    html = (pytester.path / "out" / "grades.html").read_text()
    assert html.startswith("<!doctype html>")
    assert '<td class="app" title="empty">empty</td>' in html
    assert "could not be booted: not judged" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched


def test_ini_key_writes_it_too(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    pytester.makeini("[pytest]\nposthog_report_html = book.html\n")
    pytester.runpytest_subprocess("--posthog-verify", "--posthog-app=empty")
    assert '<table id="grid">' in (pytester.path / "book.html").read_text()
