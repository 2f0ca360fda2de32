"""A bad value names the option, environment variable or ini key it came from."""

from __future__ import annotations

import pytest


def test_bad_env_value_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_SERVER", "uwsgi")
    result = pytester.runpytest_subprocess("--posthog-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*environment variable POSTHOG_VERIFY_SERVER: expected one of werkzeug, gunicorn*"]
    )
    result.stderr.no_fnmatch_line("*--posthog-server*")


def test_bad_ini_value_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nposthog_timeout = soon\n")
    result = pytester.runpytest_subprocess("--posthog-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini option posthog_timeout (*tox.ini): expected a positive number of seconds*"]
    )
    result.stderr.no_fnmatch_line("*--posthog-timeout*")


def test_bad_option_value_names_the_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-concurrency=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--posthog-concurrency: expected an integer >= 1, got '0'*"])


def test_the_header_says_where_each_setting_came_from(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.mkdir("empty")
    monkeypatch.setenv("POSTHOG_VERIFY_TIMEOUT", "3")
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app=empty", "--collect-only"
    )
    result.stdout.fnmatch_lines(
        ["*server werkzeug (from default), timeout 3s (from env POSTHOG_VERIFY_TIMEOUT)*"]
    )


def test_an_app_glob_from_the_environment_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_APPS", "nowhere/*")
    result = pytester.runpytest_subprocess("--posthog-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*environment variable POSTHOG_VERIFY_APPS: 'nowhere/*' matches no folder*"]
    )


def test_an_app_glob_from_the_ini_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nposthog_apps = nowhere/*\n")
    result = pytester.runpytest_subprocess("--posthog-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option posthog_apps (*tox.ini): 'nowhere/*' matches no*"])
