"""Options of the verification without --posthog-verify are a usage error, not ignored."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "option",
    [
        "--posthog-app=apps/shop",
        "--posthog-report=out.json",
        "--posthog-report-md=out.md",
        "--posthog-report-html=out.html",
    ],
)
def test_a_verify_option_without_verify_is_a_usage_error(
    pytester: pytest.Pytester, option: str
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    flag = option.split("=")[0]
    result.stderr.fnmatch_lines([f"*{flag} needs --posthog-verify: add it to verify the app*"])
    result.stdout.no_fnmatch_line("*1 passed*")  # the suite did not run instead


def test_the_suite_still_runs_when_nothing_of_the_verification_is_given(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.makeini("[pytest]\nposthog_apps = apps/*\n")  # ini settings wait for the flag
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
