"""The integration's footprint on the app's own behaviour: ``behaviour_preserved``.

PostHog's guidance to integrators: add PostHog beside the existing code, do not
replace or restructure it. Judged against a baseline (the app before the
integration, ``--posthog-baseline``), which the harness drives the same way.
"""

from __future__ import annotations

import typing as t

from harness.checks._events import result
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Run


def behaviour_preserved(run: Run) -> Result:
    """The app behaves as its baseline does, apart from what PostHog adds."""
    del run  # judged once a baseline is driven beside the app
    return result(
        "behaviour_preserved",
        Status.SKIP,
        "no baseline to compare with: give --posthog-baseline PATH (the app before integration)",
    )
