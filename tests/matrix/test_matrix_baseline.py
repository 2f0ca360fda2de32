"""The matrix with a baseline: ``behaviour_preserved`` judged against the app
before the integration (``--posthog-baseline target_apps/baseline``).

The corpus apps with ``baseline_expect`` in target_apps/expectations.toml (a
selection: it is slow, each app's own suite runs too): the honest integrations
pass, and each variant that changes the app's own behaviour fails naming what
changed, quoted step by step (baseline vs app).
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
from tests.matrix.test_matrix_corpus import EXPECTATIONS

pytestmark = pytest.mark.slow

#: The apps judged against the baseline, and what expectations.toml says of them.
EXPECTED = {name: app for name, app in EXPECTATIONS.items() if "baseline_expect" in app}


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
    expected = EXPECTED[app]
    assert set(expected["baseline_expect"]) == {"behaviour_preserved"}
    result = verdict(baseline_report, app, "behaviour_preserved")
    shown = json.dumps(result)
    assert result["status"] == expected["baseline_expect"]["behaviour_preserved"], shown[:3000]
    cause = expected["baseline_evidence"]["behaviour_preserved"]
    assert cause in shown, f"{cause!r} not in {shown[:3000]}"


def test_the_other_checks_are_unchanged_by_the_baseline(baseline_report: dict[str, t.Any]) -> None:
    """The baseline only adds a comparison: the honest reference passes every
    other check as it does without one."""
    entry = next(e for e in baseline_report["apps"] if e["app"] == "reference")
    statuses = {r["id"]: r["status"] for r in entry["checks"]}
    assert statuses.pop("behaviour_preserved") == "pass"
    assert {
        s for c, s in statuses.items() if c not in ("setup_report_matches", "tracking_plan_holds")
    } == {"pass"}
