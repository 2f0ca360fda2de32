"""The matrix: every app in target_apps/ x every check gets the expected verdict.

The whole corpus is verified once, through the plugin exactly as a user runs it
(``pytest --posthog-verify --posthog-app 'corpus/*' -n 2``, every variant
materialised from its patch into a temporary ``corpus/``), and each
(app, check) is then one test against ``target_apps/expectations.toml``. A
failing verdict must also name its real cause: the expectations give a
substring its summary or evidence has to contain.
"""

from __future__ import annotations

import json
import tomllib
import typing as t
from pathlib import Path

import pytest

from harness.checks import CHECK_IDS
from target_apps.materialize import materialize
from target_apps.materialize import names
from tests.matrix.corpus_run import verdict
from tests.matrix.corpus_run import verify_corpus

ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS = tomllib.loads((ROOT / "target_apps" / "expectations.toml").read_text())["apps"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every corpus app, whole ones copied and variants built from their patches."""
    parent = tmp_path_factory.mktemp("corpus")
    for name in names():
        materialize(name, parent)
    return parent


@pytest.fixture(scope="session")
def corpus_report(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    return verify_corpus(corpus_dir, tmp_path_factory.mktemp("matrix") / "report.json", "-n", "2")


CASES = [
    pytest.param(app, check, id=f"{app}::{check}")
    for app in sorted(EXPECTATIONS)
    for check in CHECK_IDS
]


@pytest.mark.parametrize(("app", "check"), CASES)
def test_verdict_matches_expectation(corpus_report: dict[str, t.Any], app: str, check: str) -> None:
    expected = EXPECTATIONS[app]["expect"][check]
    result = verdict(corpus_report, app, check)
    assert result["status"] == expected, json.dumps(result, indent=1)[:3000]
    cause = EXPECTATIONS[app].get("evidence", {}).get(check)
    if cause is not None:
        assert cause in json.dumps(result), f"evidence does not name {cause!r}: {result}"
    if result["status"] in ("fail", "warn", "error", "skip"):
        assert result["summary"], "a non-pass verdict needs a summary"


def test_every_app_in_the_corpus_has_expectations() -> None:
    assert set(names()) == set(EXPECTATIONS)


def test_every_failing_expectation_names_its_cause() -> None:
    """A fail or warn is only proven with the evidence it must quote."""
    unnamed = [
        f"{app}::{check}"
        for app, entry in EXPECTATIONS.items()
        for check, status in entry["expect"].items()
        if status in ("fail", "warn") and check not in entry.get("evidence", {})
    ]
    assert unnamed == []


def test_every_check_is_proven_both_ways() -> None:
    """Each check has an app that passes it and one that does not pass it
    (behaviour_preserved in the baseline matrix: ``baseline_expect``)."""
    for check in CHECK_IDS:
        statuses = {EXPECTATIONS[app]["expect"][check] for app in EXPECTATIONS} | {
            EXPECTATIONS[app].get("baseline_expect", {}).get(check, "skip") for app in EXPECTATIONS
        }
        assert "pass" in statuses, check
        assert statuses & {"fail", "warn"}, check


@pytest.mark.parametrize("workers", ["0", "4"])
def test_verdicts_do_not_depend_on_the_number_of_workers(
    corpus_report: dict[str, t.Any], corpus_dir: Path, tmp_path: Path, workers: str
) -> None:
    """-n 0 and -n 4 give the verdicts -n 2 gave (durations aside)."""
    other = verify_corpus(corpus_dir, tmp_path / "report.json", "-n", workers)

    def verdicts(report: dict[str, t.Any]) -> dict[str, str]:
        return {f"{a['app']}::{c['id']}": c["status"] for a in report["apps"] for c in a["checks"]}

    assert verdicts(other) == verdicts(corpus_report)


def steps(report: dict[str, t.Any], app: str) -> list[dict[str, t.Any]]:
    entry = next(a for a in report["apps"] if a["app"] == app)
    return t.cast(list[dict[str, t.Any]], entry["steps"])


def test_every_served_app_carries_its_step_log(corpus_report: dict[str, t.Any]) -> None:
    for entry in corpus_report["apps"]:
        if entry["app"] in ("settings_error_at_boot", "broken_boot_typo"):
            assert entry["steps"] == [], entry["app"]  # it never served
            continue
        assert [s["index"] for s in entry["steps"]] == list(range(len(entry["steps"])))
        assert entry["steps"][0]["step"] == "anon_browse", entry["app"]


def test_the_integration_raising_in_teardown_is_quoted_step_by_step(
    corpus_report: dict[str, t.Any],
) -> None:
    log = steps(corpus_report, "integration_teardown_exit")
    served = [s for s in log if s["kind"] != "probe"]
    assert {s["http_status"] for s in served} == {500}
    for step in served:
        assert step["failure"]["location"].startswith("wsgi.py:"), step
        assert step["failure"]["in_integration"] is True
        assert step["failure"]["cause"].startswith("TypeError: _GeneratorContextManager.__exit__()")
        assert "close_posthog_context" in step["failure"]["traceback_tail"]


def test_a_signup_that_does_not_log_in_is_followed_by_a_login(
    corpus_report: dict[str, t.Any],
) -> None:
    log = steps(corpus_report, "signup_then_login")
    relogin = [s for s in log if s["step"] == "login_after_signup"]
    assert [(s["request"].split()[0], s["http_status"]) for s in relogin] == [
        ("GET", 200),
        ("POST", 302),
        ("GET", 200),
    ]
    decided = [d for s in log if s["step"] == "signup" for d in s["decisions"]]
    assert any(d.startswith("the signup left the user logged out") for d in decided)
    dashboard = next(s for s in log if s["step"] == "dashboard")
    assert (dashboard["user"], dashboard["http_status"]) == ("user", 200)
    signup = verdict(corpus_report, "signup_then_login", "identify_on_signup")
    assert "no later events to compare" not in signup["summary"]
