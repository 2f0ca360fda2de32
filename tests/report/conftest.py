"""Hand-made app records for the report tests: no app is booted here."""

from __future__ import annotations

import typing as t

import pytest

from harness.checks.ids import CLAIM_IDS
from harness.checks.ids import GUIDANCE_IDS
from harness.report import AppReport
from harness.verdict import Result
from harness.verdict import Status

VERSIONS = {"harness": "0.1.0", "posthog": "7.91.1", "python": "3.11.7"}


class MakeApp(t.Protocol):
    def __call__(
        self,
        name: str,
        *,
        path: str | None = None,
        statuses: t.Mapping[str, Status] | None = None,
        evidence: t.Sequence[dict[str, t.Any]] = ...,
        error: str | None = None,
        summary: str | None = None,
        facts: t.Mapping[str, t.Any] | None = None,
    ) -> AppReport: ...


def _make_app(
    name: str,
    *,
    path: str | None = None,
    statuses: t.Mapping[str, Status] | None = None,
    evidence: t.Sequence[dict[str, t.Any]] = ({"event": "user_signed_up", "path": "x"},),
    error: str | None = None,
    summary: str | None = None,
    facts: t.Mapping[str, t.Any] | None = None,
) -> AppReport:
    """Every guidance check passes and every claim check skips (no baseline,
    setup report or plan: most apps) unless ``statuses`` says otherwise; a
    failing, warning or erroring check carries ``evidence`` (and ``summary``, when given)."""
    statuses = (
        dict.fromkeys(GUIDANCE_IDS, Status.PASS)
        | dict.fromkeys(CLAIM_IDS, Status.SKIP)
        | dict(statuses or {})
    )
    results = [
        Result(
            check_id,
            status,
            summary
            if summary is not None and status is not Status.PASS
            else f"{check_id} is {status.value} for {name}",
            () if status in (Status.PASS, Status.SKIP) else tuple(evidence),
        )
        for check_id, status in statuses.items()
    ]
    return AppReport.from_results(
        name, path or f"apps/{name}", results, duration_s=1.25, error=error, facts=facts
    )


@pytest.fixture
def make_app() -> MakeApp:
    return _make_app


@pytest.fixture
def versions() -> dict[str, str]:
    return dict(VERSIONS)


@pytest.fixture
def mixed_apps(make_app: MakeApp) -> list[AppReport]:
    """One app per verdict: passed (with a warn and a skip), failed, errored."""
    return [
        make_app(
            "good",
            statuses={
                "boots_without_posthog_env": Status.WARN,
                "identify_on_login": Status.SKIP,
            },
        ),
        make_app("leaky", statuses={"no_pii_in_events": Status.FAIL, "boots": Status.PASS}),
        make_app("hung", statuses={"flush_on_shutdown": Status.ERROR}),
    ]
