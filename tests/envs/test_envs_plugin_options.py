"""--posthog-python and --posthog-install on the command line, env and ini."""

from __future__ import annotations

import sys

import pytest


def test_help_documents_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--posthog-python=PATH*", "*--posthog-install*"])


def test_a_python_that_is_not_there_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-python=nowhere/python")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--posthog-python: 'nowhere/python' is not a file*"])


@pytest.mark.parametrize(
    ("how", "source"),
    [
        pytest.param("option", "option", id="option"),
        pytest.param("env", "env POSTHOG_VERIFY_PYTHON", id="env"),
        pytest.param("ini", "ini", id="ini"),
    ],
)
def test_the_header_says_where_the_python_came_from(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, source: str
) -> None:
    pytester.makepyfile(app="from flask import Flask\napp = Flask(__name__)\n")
    args = ["--posthog-verify", "--co", "-q", "-p", "no:xdist"]
    if how == "option":
        args.append(f"--posthog-python={sys.executable}")
    elif how == "env":
        monkeypatch.setenv("POSTHOG_VERIFY_PYTHON", sys.executable)
    else:
        pytester.makeini(f"[pytest]\nposthog_python = {sys.executable}\nposthog_install = true\n")
    result = pytester.runpytest_subprocess(*args, "-v")
    result.stdout.fnmatch_lines([f"posthog-verify: python {sys.executable} (from {source})*"])
    if how == "ini":
        result.stdout.fnmatch_lines(["*install True (from ini)*"])
