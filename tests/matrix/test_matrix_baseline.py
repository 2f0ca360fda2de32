"""The matrix with a baseline: ``behaviour_preserved`` judged against the app
before the integration (``--posthog-baseline target_apps/baseline``).

A selection of corpus apps (it is slow: each app's own suite runs too): the
honest integrations pass, and each variant that changes the app's own
behaviour fails naming what changed, quoted step by step (baseline vs app).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from target_apps.materialize import materialize
from tests.matrix.corpus_run import ROOT
from tests.matrix.corpus_run import verdict
from tests.matrix.corpus_run import verify_corpus

pytestmark = pytest.mark.slow

#: app -> (verdict, substrings its summary or evidence must hold)
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "reference": ("pass", ("all 10 steps", "own tests that pass on the baseline pass on the app")),
    "correct_flask_integration": ("pass", ("all 10 steps",)),
    "correct_contexts": ("pass", ("all 10 steps",)),
    "correct_module_level": ("pass", ("all 10 steps",)),
    "broken_pii_tag": ("pass", ("all 10 steps",)),  # a PostHog defect, not a behaviour change
    "broken_redirect_changed": (
        "fail",
        ("signup", "POST /signup -> 302 to /dashboard", "POST /signup -> 302 to /"),
    ),
    "broken_form_field_dropped": (
        "fail",
        ("signup", "fields: email, name, phone, address, password", "dropped phone"),
    ),
    "broken_own_test": (
        "fail",
        ("test_signup_form_has_labelled_fields", "pass on the baseline and fail on the app"),
    ),
}


@pytest.fixture(scope="module")
def baseline_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    corpus = tmp_path_factory.mktemp("baseline-corpus")
    for name in EXPECTED:
        materialize(name, corpus)
    out = tmp_path_factory.mktemp("baseline-matrix") / "report.json"
    baseline = Path(ROOT) / "target_apps" / "baseline"
    return verify_corpus(corpus, out, f"--posthog-baseline={baseline}", "-n", "2")


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_behaviour_preserved_against_the_baseline(
    baseline_report: dict[str, t.Any], app: str
) -> None:
    status, substrings = EXPECTED[app]
    result = verdict(baseline_report, app, "behaviour_preserved")
    shown = json.dumps(result, indent=1)
    assert result["status"] == status, shown[:3000]
    for substring in substrings:
        assert substring in shown, f"{substring!r} not in {shown[:3000]}"


def test_the_other_checks_are_unchanged_by_the_baseline(baseline_report: dict[str, t.Any]) -> None:
    """The baseline only adds a comparison: the honest reference passes every
    other check as it does without one."""
    entry = next(e for e in baseline_report["apps"] if e["app"] == "reference")
    statuses = {r["id"]: r["status"] for r in entry["checks"]}
    assert statuses.pop("behaviour_preserved") == "pass"
    assert {
        s for c, s in statuses.items() if c not in ("setup_report_matches", "tracking_plan_holds")
    } == {"pass"}
