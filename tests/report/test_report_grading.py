"""Grades: severities as documented, the weighted score, ranks and reasons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.checks.ids import CHECK_IDS
from harness.report import build_report
from harness.report.grading import SEVERITY
from harness.report.grading import Severity
from harness.report.grading import grade_of
from harness.report.grading import ranked
from harness.report.grading import weighted_score
from harness.verdict import Result
from harness.verdict import Status

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def test_every_check_has_the_severity_docs_checks_md_gives_it() -> None:
    text = DOCS.read_text()
    documented = {}
    for severity in Severity:
        (row,) = re.findall(rf"^\| {severity.value} \| (.*) \|$", text, re.M)
        documented.update(dict.fromkeys(re.findall(r"`(\w+)`", row), severity))
    assert documented == SEVERITY
    assert set(SEVERITY) == set(CHECK_IDS)


@pytest.mark.parametrize(
    ("statuses", "score"),
    [
        pytest.param({"boots": Status.PASS}, 100.0, id="all-pass"),
        pytest.param({"boots": Status.PASS, "no_pii_in_events": Status.FAIL}, 50.0, id="blocking"),
        pytest.param({"boots": Status.PASS, "host_from_env": Status.FAIL}, 75.0, id="advisory"),
        pytest.param({"boots": Status.PASS, "host_from_env": Status.WARN}, 87.5, id="warn-half"),
        pytest.param({"boots": Status.PASS, "single_client": Status.ERROR}, 100.0, id="error-out"),
        pytest.param({"boots": Status.ERROR}, None, id="nothing-applicable"),
    ],
)
def test_weighted_score(statuses: dict[str, Status], score: float | None) -> None:
    results = [Result(c, s, "x") for c, s in statuses.items()]
    assert weighted_score(results) == score


def test_a_password_leak_costs_more_than_a_hardcoded_host(make_app) -> None:
    leak = grade_of(make_app("leak", statuses={"no_pii_in_events": Status.FAIL}))
    host = grade_of(make_app("host", statuses={"host_from_env": Status.FAIL}))
    warned = grade_of(make_app("warned", statuses={"host_from_env": Status.WARN}))
    assert leak.score is not None
    assert host.score is not None
    assert warned.score is not None
    assert leak.score < host.score < warned.score < 100


def test_an_app_that_cannot_serve_ranks_below_every_app_that_works(make_app) -> None:
    failing_everything = {c: Status.FAIL for c in CHECK_IDS if c != "boots"}
    apps = [
        make_app("no_boot", statuses={"boots": Status.FAIL}),
        make_app("bad_but_serves", statuses=failing_everything),
        make_app("not_found", statuses=dict.fromkeys(CHECK_IDS, Status.ERROR)),
    ]
    assert grade_of(apps[0]).score > grade_of(apps[1]).score  # type: ignore[operator]
    assert [a.app for a in ranked(apps)] == ["bad_but_serves", "no_boot", "not_found"]


@pytest.mark.parametrize(
    ("statuses", "reason"),
    [
        pytest.param({}, "passes every applicable check", id="pass"),
        pytest.param(
            {"no_pii_in_events": Status.FAIL, "host_from_env": Status.FAIL},
            "fails no_pii_in_events (blocking); fails host_from_env (advisory)",
            id="fails",
        ),
        pytest.param(
            {"host_from_env": Status.WARN, "single_client": Status.ERROR},
            "warns on host_from_env; 1 not judged",
            id="warn-error",
        ),
        pytest.param({"boots": Status.FAIL}, "does not boot: boots is fail for app", id="boot"),
    ],
)
def test_one_line_reason(make_app, statuses: dict[str, Status], reason: str) -> None:
    assert grade_of(make_app("app", statuses=statuses)).reason == reason


def test_json_carries_severity_and_grade(make_app, versions) -> None:
    app = make_app("a", statuses={"host_from_env": Status.FAIL})
    report = build_report([app], versions=versions)
    app = report["apps"][0]
    assert app["grade"] == {
        "score": 97.2,  # 35 of 36: an advisory check weighs 1
        "serves": True,
        "reason": "fails host_from_env (advisory)",
    }
    severities = {c["id"]: c["severity"] for c in app["checks"]}
    assert severities["host_from_env"] == "advisory"
    assert severities["no_pii_in_events"] == "blocking"
