"""Every correct integration style passes every check (warn only where documented)."""

from __future__ import annotations

import dataclasses

import pytest
from checks_runs import CANARIES
from checks_runs import build
from checks_runs import contexts_specs
from checks_runs import flask_integration_specs
from checks_runs import good_run
from checks_runs import module_default_run

from harness.checks import run_checks
from harness.checks.ids import GUIDANCE_IDS
from harness.run import Run
from harness.verdict import Status


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(good_run(), id="instance-request-hook"),
        pytest.param(build(contexts_specs()), id="new_context-identify_context"),
        pytest.param(module_default_run(), id="module-default-client"),
    ],
)
def test_correct_style_passes_every_check(run: Run) -> None:
    results = [r for r in run_checks(run) if r.check_id in GUIDANCE_IDS]
    assert [(r.check_id, r.status, r.summary) for r in results if r.status is not Status.PASS] == []


def test_flask_integration_passes_all_but_warns_about_ip() -> None:
    judged = run_checks(build(flask_integration_specs()))
    results = {r.check_id: r for r in judged if r.check_id in GUIDANCE_IDS}
    pii = results.pop("no_pii_in_events")
    assert {r.status for r in results.values()} == {Status.PASS}
    assert pii.status is Status.WARN
    assert "the request's IP in properties.$ip" in pii.summary
    first = pii.evidence[0]
    assert first["path"] == "properties.$ip"
    assert first["value"] == "127.0.0.1"
    assert "Flask integration" in first["note"]
    assert "before_send" in first["note"]


def test_flask_integration_behind_a_proxy_still_only_warns_for_the_canary_ip() -> None:
    specs = tuple(
        dataclasses.replace(s, properties={**s.properties, "$ip": CANARIES.ip})
        if "$ip" in s.properties
        else s
        for s in flask_integration_specs()
    )
    pii = next(r for r in run_checks(build(specs)) if r.check_id == "no_pii_in_events")
    assert pii.status is Status.WARN
    assert "«203.0.113.57»" in pii.evidence[0]["value"]
