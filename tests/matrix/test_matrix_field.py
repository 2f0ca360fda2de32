"""The field corpus: integrations nobody here anticipated, with verdicts decided by hand.

``tests/apps/field/`` holds integrations written the way agents and people
write them (an extension object, a view decorator, a background queue, ...)
and reproductions of what real public apps showed, each a patch of a corpus
app. ``expected.toml`` gives the verdict a person decided by reading the code
and driving the app; where the harness still disagrees, ``harness_now`` says
what it answers today, and that case is a strict xfail: it shows in every run,
and the day the harness gets it right the xfail turns into a failure that asks
for the entry to be removed.
"""

from __future__ import annotations

import json
import tomllib
import typing as t
from pathlib import Path

import pytest

from harness.checks import CHECK_IDS
from target_apps.materialize import TARGET_APPS
from target_apps.materialize import Corpus
from tests.matrix.corpus_run import verdict
from tests.matrix.corpus_run import verify_corpus

FIELD = Corpus(
    Path(__file__).resolve().parents[1] / "apps" / "field",
    cache="posthog-verify-field",
    bases=TARGET_APPS,
)
APPS = tomllib.loads((FIELD.root / "expected.toml").read_text())["apps"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def field_report(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> dict[str, t.Any]:
    parent = tmp_path_factory.mktemp("field")
    for name, entry in APPS.items():
        FIELD.materialize(name, parent)
        for key, value in entry.get("env", {}).items():
            monkeypatch_module.setenv(key, value)
    out = tmp_path_factory.mktemp("field-report") / "report.json"
    return verify_corpus(parent, out, "-n", "2")


@pytest.fixture(scope="module")
def monkeypatch_module() -> t.Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _case(app: str, check: str) -> t.Any:
    known = APPS[app].get("harness_now", {}).get(check)
    marks = []
    if known is not None:
        reason = f"known disagreement: the harness says {known}, by hand it is "
        marks.append(pytest.mark.xfail(strict=True, reason=reason + APPS[app]["expect"][check]))
    return pytest.param(app, check, id=f"{app}::{check}", marks=marks)


@pytest.mark.parametrize(("app", "check"), [_case(a, c) for a in sorted(APPS) for c in CHECK_IDS])
def test_field_verdict_matches_the_hand_verdict(
    field_report: dict[str, t.Any], app: str, check: str
) -> None:
    result = verdict(field_report, app, check)
    assert result["status"] == APPS[app]["expect"][check], json.dumps(result, indent=1)[:3000]
    cause = APPS[app].get("evidence", {}).get(check)
    if cause is not None:
        assert cause in json.dumps(result), f"evidence does not name {cause!r}: {result}"


def test_every_field_app_is_a_patch_with_hand_verdicts() -> None:
    assert sorted(p.stem for p in FIELD.root.glob("*.patch")) == sorted(APPS)
    for entry in APPS.values():
        assert list(entry["expect"]) == list(CHECK_IDS)
