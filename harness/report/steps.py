"""The failed steps of an app, as lines the text reports print under it.

A step record is a dict of the JSON report's ``steps`` list
(:func:`harness.report.facts.run_facts`)::

    failed_step_lines(app.steps)
    # ['signup: POST /signup answered 500: sqlite3.OperationalError: no such table: user
    #   (app/auth.py:42)']
"""

from __future__ import annotations

import typing as t


def failed_step_lines(steps: t.Sequence[t.Mapping[str, t.Any]]) -> list[str]:
    """One line per step record that carries a failure, for the text reports:
    ``signup: POST /signup answered 500: sqlite3.OperationalError: ... (app/x.py:4)``."""
    lines = []
    for step in steps:
        failure = step.get("failure")
        if not failure or step.get("status") not in ("failed", "no answer"):
            continue
        status = step.get("http_status")
        answer = f"answered {status}" if status is not None else "no answer"
        where = f" ({failure['location']})" if failure.get("location") else ""
        blame = " [PostHog integration]" if failure.get("in_integration") else ""
        lines.append(
            f"{step['step']}: {step['request']} {answer}: {failure['cause']}{where}{blame}"
        )
    return lines
