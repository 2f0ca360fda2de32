"""The terminal summary: every line fits, every finding is one line."""

from __future__ import annotations

import pytest

from harness.checks.ids import CHECK_IDS
from harness.report import AppReport
from harness.report import summary_lines
from harness.verdict import Result
from harness.verdict import Status

LONG_A = "a" * 55 + "_shop"  # 60 characters
LONG_B = "b" * 55 + "_blog"


@pytest.fixture
def wide(make_app) -> list[AppReport]:
    return [
        make_app(LONG_A),
        make_app(
            LONG_B,
            statuses={
                "boots_without_posthog_env": Status.WARN,
                "key_from_env": Status.FAIL,
                "host_from_env": Status.SKIP,
                "single_client": Status.ERROR,
            },
        ),
    ]


def table_row(lines: list[str], prefix: str) -> list[str]:
    table = lines[: lines.index("")] if "" in lines else lines  # findings follow a blank line
    (row,) = [line for line in table if line.startswith(prefix)]
    return row.split()


def test_every_line_fits_100_columns(wide: list[AppReport]) -> None:
    lines = summary_lines(wide, width=100)
    assert max(len(line) for line in lines) <= 100
    assert len(CHECK_IDS) == 17
    legend = " ".join(line for line in lines if line.startswith(("checks:", "      ")))
    for number, check_id in enumerate(CHECK_IDS, start=1):
        assert f"{number} {check_id}" in legend


def test_rows_carry_glyphs_score_and_errors(wide: list[AppReport]) -> None:
    lines = summary_lines(wide, width=100)
    header = table_row(lines, "app ")
    assert header == ["app", *map(str, range(1, 18)), "score", "err"]
    first = table_row(lines, "aaaa")
    assert first[0].endswith("…")  # the 60-character name was cut to fit
    assert first[1:] == ["."] * 14 + ["s"] * 3 + ["100", "0"]
    second = table_row(lines, "bbbb")
    assert second[1:6] == [".", "W", "F", "s", "E"]
    # weighted: 28.5 of 32 (3 a blocking check, 1 advisory, a warn earns half);
    # the error and the skip are out of the denominator
    assert second[-2:] == ["89.1", "1"]


def test_totals_rows_and_sentences(wide: list[AppReport]) -> None:
    lines = summary_lines(wide, width=100)
    assert table_row(lines, "pass ")[1:4] == ["2", "1", "1"]
    assert table_row(lines, "fail ")[1:4] == ["-", "-", "1"]
    assert table_row(lines, "error ")[5] == "1"
    assert not [line for line in lines if line.startswith("... ")]
    assert ". pass  F fail  W warn  s skip  E error  - not run" in lines
    assert "2 apps: 1 passed, 1 failed, 0 could not be judged" in lines
    assert "checks: 24 of 26 applicable passed, 1 warned, 7 skipped, 1 error" in lines


def test_one_line_per_finding_with_the_id_whole(wide: list[AppReport]) -> None:
    lines = summary_lines(wide, width=100)
    findings = lines[lines.index("") + 1 :]
    assert findings == [
        f"{LONG_B}::boots_without_posthog_env WARN",
        f"    boots_without_posthog_env is warn for {LONG_B}"[:99] + "…",
        f"{LONG_B}::key_from_env FAIL",
        f"    key_from_env is fail for {LONG_B}",
        f"{LONG_B}::single_client ERROR",
        f"    single_client is error for {LONG_B}",
    ]


def test_short_names_keep_findings_on_one_line(make_app) -> None:
    apps = [make_app("shop", statuses={"no_pii_in_events": Status.FAIL})]
    lines = summary_lines(apps)
    assert lines[-1] == "shop::no_pii_in_events FAIL no_pii_in_events is fail for shop"
    assert "1 app: 0 passed, 1 failed, 0 could not be judged" in lines
    assert table_row(lines, "shop")[-2:] == ["91.7", "0"]


def test_unjudged_app_and_checks_not_run() -> None:
    apps = [
        AppReport.from_results("x", "apps/x", [Result("boots", Status.PASS, "ok")]),
        AppReport.from_results("y", "apps/y", [], error="nothing to boot:\nno create_app"),
    ]
    lines = summary_lines(apps)
    assert table_row(lines, "y ") == ["y", "-", "-", "0"]
    assert lines[-1] == "y ERROR nothing to boot: no create_app"
    assert "2 apps: 1 passed, 0 failed, 1 could not be judged" in lines


def test_no_apps() -> None:
    assert summary_lines([]) == ["posthog-verify: no apps were judged"]


def test_many_apps_widen_the_columns(make_app) -> None:
    apps = [make_app(f"app{i}") for i in range(120)]
    lines = summary_lines(apps, width=100)
    assert max(len(line) for line in lines) <= 100
    assert table_row(lines, "pass ")[1:] == ["120"] * 14 + ["-"] * 3


def test_rows_are_ranked_serving_apps_first_then_by_score(make_app) -> None:
    apps = [
        make_app("a_broken_boot", statuses={"boots": Status.FAIL}),
        make_app("b_leaks", statuses={"no_pii_in_events": Status.FAIL}),
        make_app("c_hardcoded_host", statuses={"host_from_env": Status.FAIL}),
        make_app("d_clean"),
    ]
    lines = summary_lines(apps)
    rows = [line.split()[0] for line in lines if line.startswith(("a_", "b_", "c_", "d_"))]
    # an advisory fail costs less than a blocking one; not booting ranks last
    assert rows[:4] == ["d_clean", "c_hardcoded_host", "b_leaks", "a_broken_boot"]


def test_identical_errors_are_one_finding(make_app) -> None:
    statuses = dict.fromkeys(CHECK_IDS, Status.ERROR)
    apps = [make_app("shop", statuses=statuses, summary="not judged: no app found")]
    lines = summary_lines(apps)
    assert "shop::boots (+16 checks) ERROR not judged: no app found" in lines
    assert not any(line.startswith("shop::key_from_env") for line in lines)
    # nothing judged anywhere: no grid of E, the cause instead
    assert not any(line.startswith("app ") for line in lines)
