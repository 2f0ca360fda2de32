"""The option group: help, types, precedence, and doing nothing when off."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_help_documents_the_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        [
            "*verify a Flask app's PostHog integration*",
            "*--posthog-verify*",
            "*--posthog-app=PATH*",
            "*--posthog-report=PATH*",
            "*--posthog-report-md=PATH*",
            "*--posthog-timeout=SECONDS*",
            "*--posthog-shard=K/N*",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--posthog-timeout", "soon"],
            "*--posthog-timeout: expected a positive number of seconds, got 'soon'*",
            id="timeout",
        ),
        pytest.param(
            ["--posthog-shard", "3/2"],
            "*--posthog-shard: expected K/N with 1 <= K <= N (e.g. 2/4), got '3/2'*",
            id="shard",
        ),
        pytest.param(
            ["--posthog-server", "uwsgi"],
            "*--posthog-server: expected one of werkzeug, gunicorn, auto, got 'uwsgi'*",
            id="server",
        ),
    ],
)
def test_bad_values_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_glob_matching_nothing_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app", "nowhere/*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--posthog-app: 'nowhere/*' matches no folder*"])


def test_off_by_default_the_suite_runs_as_usual(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_header_names_each_setting_source(
    pytester: pytest.Pytester, reference_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_TIMEOUT", "7")
    pytester.makeini("[pytest]\nposthog_server = werkzeug\n")
    # The "=" form: pytest picks its rootdir (and ini) before plugins load, and
    # would count a separate PATH argument among the paths that decide it.
    result = pytester.runpytest_subprocess(
        "--posthog-verify", f"--posthog-app={reference_app}", "--collect-only"
    )
    result.stdout.fnmatch_lines(
        [
            "*posthog-verify *: 1 app(s): *reference (from option)",
            "*server werkzeug (from ini), timeout 7s (from env POSTHOG_VERIFY_TIMEOUT)",
        ]
    )
