"""The step log in every report: the JSON carries every step (schema-valid,
through a merge), and the terminal, Markdown and JUnit list the failed ones."""

from __future__ import annotations

import dataclasses
import json
import typing as t

import jsonschema
import pytest

from harness.report import AppReport
from harness.report import build_report
from harness.report import load_schema
from harness.report import merge_reports
from harness.report.facts import run_facts
from harness.report.markdown import markdown_summary
from harness.report.steps import failed_step_lines
from harness.report.terminal import summary_lines
from harness.run import AppRef
from harness.run import Exchange
from harness.run import Run
from harness.run import SourceLocation
from harness.run import StepFailure
from harness.verdict import Status

if t.TYPE_CHECKING:
    from tests.report.conftest import MakeApp

NO_TABLE = StepFailure(
    cause="sqlite3.OperationalError: no such table: user",
    location=SourceLocation("app/auth.py", 42),
    traceback_tail="Traceback ...\nsqlite3.OperationalError: no such table: user",
)
EXCHANGES = (
    Exchange(0, "anon_browse", "browse", "GET", "/", {}, 200, expected="any"),
    Exchange(
        1,
        "signup",
        "signup",
        "POST",
        "/signup",
        {},
        500,
        expected="2xx|3xx",
        decisions=("form found on /signup: POST /signup with email, password",),
        failure=NO_TABLE,
    ),
    Exchange(
        2,
        "dashboard",
        "browse",
        "GET",
        "/dashboard",
        {},
        None,
        error="timeout: no answer within 2 s",
        failure=StepFailure(cause="no answer within 2 s (the request deadline): the request hung"),
    ),
)
SIGNUP_LINE = (
    "signup: POST /signup answered 500: sqlite3.OperationalError: no such table: user "
    "(app/auth.py:42)"
)


def step_log(exchanges: t.Sequence[Exchange]) -> list[dict[str, t.Any]]:
    """The steps as the report carries them (:func:`harness.report.facts.run_facts`)."""
    run = Run(app=AppRef(name="app", root="/app"), exchanges=tuple(exchanges))
    return t.cast(list[dict[str, t.Any]], run_facts(run, versions={})["steps"])


@pytest.fixture
def app(make_app: MakeApp) -> AppReport:
    made = make_app("needs_setup", statuses={"identify_on_signup": Status.ERROR})
    return dataclasses.replace(made, facts={**made.facts, "steps": step_log(EXCHANGES)})


def test_the_failed_steps_are_named_with_cause_and_place(app: AppReport) -> None:
    assert failed_step_lines(app.facts["steps"]) == [
        SIGNUP_LINE,
        "dashboard: GET /dashboard no answer: no answer within 2 s (the request deadline): "
        "the request hung",
    ]


def test_the_json_report_carries_every_step_and_validates(
    app: AppReport, versions: dict[str, str]
) -> None:
    report = build_report([app], versions=versions)
    jsonschema.Draft202012Validator(load_schema()).validate(json.loads(json.dumps(report)))
    steps = report["apps"][0]["steps"]
    assert [s["step"] for s in steps] == ["anon_browse", "signup", "dashboard"]
    assert steps[1]["expected"] == "2xx|3xx"
    assert steps[1]["decisions"] == ["form found on /signup: POST /signup with email, password"]
    assert steps[1]["failure"] == {
        "cause": "sqlite3.OperationalError: no such table: user",
        "location": "app/auth.py:42",
        "traceback_tail": NO_TABLE.traceback_tail,
        "in_integration": False,
    }
    assert AppReport.from_dict(report["apps"][0]) == app
    merged = merge_reports([report], sources=["a.json"])
    assert merged["apps"][0]["steps"] == steps


def test_the_schema_rejects_a_step_without_its_failure_field(
    app: AppReport, versions: dict[str, str]
) -> None:
    report = json.loads(json.dumps(build_report([app], versions=versions)))
    del report["apps"][0]["steps"][0]["failure"]
    with pytest.raises(jsonschema.ValidationError, match="'failure' is a required property"):
        jsonschema.Draft202012Validator(load_schema()).validate(report)


def test_the_terminal_lists_the_failed_steps_under_the_app(app: AppReport) -> None:
    text = "\n".join(summary_lines([app], width=200))
    assert f"needs_setup STEP {SIGNUP_LINE}" in text


def test_markdown_lists_the_failed_steps_under_the_app(
    app: AppReport, versions: dict[str, str]
) -> None:
    text = markdown_summary(build_report([app], versions=versions))
    assert "Failed steps:" in text
    assert "sqlite3.OperationalError: no such table: user (app/auth.py:42)" in text


def test_an_app_without_failed_steps_shows_none(make_app: MakeApp) -> None:
    made = make_app("fine")
    clean = dataclasses.replace(made, facts={**made.facts, "steps": step_log(EXCHANGES[:1])})
    assert failed_step_lines(clean.facts["steps"]) == []
    assert "STEP" not in "\n".join(summary_lines([clean], width=200))


def test_a_route_that_raises_on_purpose_is_no_failed_step() -> None:
    raising = Exchange(0, "errors:/boom", "error", "GET", "/boom", {}, 500, failure=NO_TABLE)
    broken = dataclasses.replace(
        raising, failure=dataclasses.replace(NO_TABLE, in_integration=True)
    )
    assert step_log([raising])[0]["status"] == "ok"
    assert failed_step_lines(step_log([raising])) == []
    assert failed_step_lines(step_log([broken])) == [
        "errors:/boom: GET /boom answered 500: sqlite3.OperationalError: no such table: user "
        "(app/auth.py:42) [PostHog integration]"
    ]
