"""The report records: worst-of status, scores, totals, and the dict round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.checks.ids import CHECK_IDS
from harness.report import AppReport
from harness.report import Score
from harness.report import Totals
from harness.report import check_columns
from harness.report import worst_status
from harness.verdict import Result
from harness.verdict import Status

P, F, W, S, E = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP, Status.ERROR


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        pytest.param([P, P], P, id="all-pass"),
        pytest.param([P, S], P, id="pass-over-skip"),
        pytest.param([S, S], S, id="nothing-applied"),
        pytest.param([S, W, P], W, id="warn-over-skip"),
        pytest.param([W, F, S], F, id="fail-over-warn"),
        pytest.param([F, E, P], E, id="error-over-fail"),
        pytest.param([], S, id="nothing-judged-is-not-a-pass"),
    ],
)
def test_worst_status(statuses: list[Status], worst: Status) -> None:
    assert worst_status(statuses) is worst
    app = AppReport.from_results(
        "a", "apps/a", [Result(f"c{i}", s, "") for i, s in enumerate(statuses)]
    )
    assert app.status is worst


def test_app_error_makes_status_error_even_with_passing_checks() -> None:
    app = AppReport.from_results("a", "apps/a", [Result("boots", P, "ok")], error="hung at import")
    assert app.status is E
    assert app.verdict == "errored"


def test_inconsistent_status_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"status 'pass' is not the worst of its checks \('fail'\)"
    ):
        AppReport("a", "apps/a", P, 0.0, (Result("boots", F, "raised"),))


def test_score_keeps_errors_and_skips_out_of_the_denominator() -> None:
    score = Score.of([P, P, F, W, S, S, E, E, E])
    assert (score.passed, score.failed, score.warned, score.skipped, score.errors) == (
        2,
        1,
        1,
        2,
        3,
    )
    assert score.applicable == 4  # pass + fail + warn: the warn counts, errors/skips do not
    assert score.to_dict() == {
        "passed": 2,
        "applicable": 4,
        "failed": 1,
        "warned": 1,
        "skipped": 2,
        "errors": 3,
    }
    assert score.status_counts() == {"pass": 2, "fail": 1, "warn": 1, "skip": 2, "error": 3}
    assert Score.from_dict(score.to_dict()) == score
    assert Score.from_dict(score.status_counts()) == score
    assert score + Score(passed=1, errors=1) == Score(3, 1, 1, 2, 4)


def test_an_app_that_only_errored_scores_nothing_against_it() -> None:
    app = AppReport.from_results("a", "apps/a", [Result(c, E, "not judged") for c in CHECK_IDS])
    assert app.score.applicable == 0
    assert app.score.failed == 0
    assert app.score.errors == len(CHECK_IDS)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        pytest.param([P, W, S], "passed", id="warn-and-skip-still-pass"),
        pytest.param([P, E], "errored", id="error-only"),
        pytest.param([F, E, E], "failed", id="boot-raised-fail-outranks-errors"),
    ],
)
def test_verdict(statuses: list[Status], verdict: str) -> None:
    app = AppReport.from_results(
        "a", "apps/a", [Result(f"c{i}", s, "") for i, s in enumerate(statuses)]
    )
    assert app.verdict == verdict


def test_round_trip_through_json(mixed_apps: list[AppReport]) -> None:
    for app in mixed_apps:
        payload = json.loads(json.dumps(app.to_dict()))
        assert AppReport.from_dict(payload) == app
        assert payload["score"] == app.score.to_dict()
        assert payload["status"] == app.status.value


def test_to_dict_makes_any_evidence_json_able() -> None:
    evidence = {"body": b"\x00ok", "file": Path("app.py"), "ratio": math.nan, "n": (1, 2)}
    app = AppReport.from_results(
        "a", "apps/a", [Result("no_pii_in_events", F, "leak", (evidence,))]
    )
    data = app.to_dict()
    json.dumps(data, allow_nan=False)  # raises if anything is not plain JSON
    assert data["checks"][0]["evidence"] == [
        {"body": {"base64": "AG9r"}, "file": "PosixPath('app.py')", "ratio": "nan", "n": [1, 2]}
    ]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(lambda d: d.pop("path"), "app 'good': missing field 'path'", id="missing"),
        pytest.param(
            lambda d: d.update(status="great"),
            "app 'good': 'great' is not a valid Status",
            id="bad",
        ),
    ],
)
def test_from_dict_names_the_app_and_the_field(make_app, mutate, message: str) -> None:
    data = make_app("good").to_dict()
    mutate(data)
    with pytest.raises(ValueError, match=message):
        AppReport.from_dict(data)


def test_totals(mixed_apps: list[AppReport]) -> None:
    totals = Totals.of(mixed_apps)
    assert list(totals.checks) == list(CHECK_IDS)
    assert totals.checks["no_pii_in_events"].status_counts() == {
        "pass": 2,
        "fail": 1,
        "warn": 0,
        "skip": 0,
        "error": 0,
    }
    assert totals.checks["boots_without_posthog_env"] == Score(passed=2, warned=1)
    assert totals.checks["flush_on_shutdown"] == Score(passed=2, errors=1)
    assert totals.apps == {"apps/good": Score(12, 0, 1, 4, 0), "apps/leaky": Score(13, 1, 0, 3),
                           "apps/hung": Score(13, 0, 0, 3, errors=1)}  # fmt: skip
    overall = totals.overall
    assert (overall.apps, overall.apps_passed, overall.apps_failed, overall.apps_errored) == (
        3,
        1,
        1,
        1,
    )
    assert overall.score == Score(38, 1, 1, 10, 1)
    assert totals.to_dict()["overall"]["score"]["applicable"] == 40


def test_check_columns_follow_the_catalogue_then_unknown_ids() -> None:
    app = AppReport.from_results(
        "a",
        "apps/a",
        [Result("zz_custom", P, ""), Result("no_silent_drops", P, ""), Result("boots", P, "")],
    )
    assert check_columns([app]) == ("boots", "no_silent_drops", "zz_custom")
