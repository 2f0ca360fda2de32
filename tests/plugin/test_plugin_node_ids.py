"""Node ids on the command line select items, as a copied failing id expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import CHECK_IDS


@pytest.fixture
def two_apps(pytester: pytest.Pytester) -> list[str]:
    pytester.mkdir("alpha")
    pytester.mkdir("beta")
    return ["--posthog-verify", "--posthog-app=alpha", "--posthog-app=beta"]


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and " " not in line]


def test_an_id_selects_one_item(pytester: pytest.Pytester, two_apps: list[str]) -> None:
    result = pytester.runpytest_subprocess(*two_apps, "alpha::key_from_env", "--collect-only", "-q")
    assert collected(result) == ["alpha::key_from_env"]


def test_ids_combine_and_an_app_name_selects_its_checks(
    pytester: pytest.Pytester, two_apps: list[str]
) -> None:
    result = pytester.runpytest_subprocess(
        *two_apps, "beta", "alpha::boots", "--collect-only", "-q"
    )
    assert collected(result) == ["alpha::boots", *(f"beta::{c}" for c in CHECK_IDS)]


def test_an_xdist_id_with_its_group_suffix_selects_too(
    pytester: pytest.Pytester, two_apps: list[str]
) -> None:
    result = pytester.runpytest_subprocess(
        *two_apps, "beta::boots@posthog-verify-1", "--collect-only", "-q"
    )
    assert collected(result) == ["beta::boots"]


def test_an_unknown_check_is_a_usage_error_with_a_suggestion(
    pytester: pytest.Pytester, two_apps: list[str]
) -> None:
    result = pytester.runpytest_subprocess(*two_apps, "alpha::boot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'boot' is not a check of this run. Did you mean 'boots'*"])


def test_an_unknown_app_is_a_usage_error(pytester: pytest.Pytester, two_apps: list[str]) -> None:
    result = pytester.runpytest_subprocess(*two_apps, "gamma::boots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'gamma' is not an app of this run*the apps are: alpha, beta*"])


def test_without_ids_everything_runs(pytester: pytest.Pytester, two_apps: list[str]) -> None:
    result = pytester.runpytest_subprocess(*two_apps, "--collect-only", "-q")
    assert len(collected(result)) == 2 * len(CHECK_IDS)


@pytest.mark.slow
def test_a_failing_id_copied_from_the_output_reruns_alone(
    pytester: pytest.Pytester, broken_app: Path
) -> None:
    args = ["--posthog-verify", f"--posthog-app={broken_app}", "-n", "2"]
    first = pytester.runpytest_subprocess(*args)
    (failed,) = [
        line.split()[1] for line in first.outlines if line.startswith("FAILED broken_pii_tag::")
    ]
    again = pytester.runpytest_subprocess(*args, failed)
    again.assert_outcomes(failed=1)
    assert failed.split("@")[0] == "broken_pii_tag::no_pii_in_events"
