"""Grades: each check's severity, an app's weighted score, its rank and its reason.

A password in every event and a hardcoded host are not the same defect, and a
``warn`` is advice, not a failure. So each check is *blocking* (the
integration loses or leaks data, or cannot be trusted in production) or
*advisory* (worth fixing, nothing is lost today), and the score weighs them::

    score = 100 * sum(weight * credit) / sum(weight)    over applicable checks

with weight 3 for a blocking check and 1 for an advisory one, and credit 1 for
``pass``, 0.5 for ``warn``, 0 for ``fail``. ``skip`` and ``error`` are left out
(not applicable; not judged). An app that could not serve (``boots`` is not
``pass``) ranks below every app that did, whatever its score::

    ranked(apps)[0].app        # the best app
    grade_of(app).reason       # "fails no_pii_in_events (blocking)"
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.report.model import AppReport
    from harness.verdict import Result


class Severity(enum.StrEnum):
    BLOCKING = "blocking"
    ADVISORY = "advisory"


#: docs/checks.md ("Severity") lists the same; a test keeps the two equal.
SEVERITY: dict[str, Severity] = {
    "boots": Severity.BLOCKING,
    "boots_without_posthog_env": Severity.ADVISORY,
    "key_from_env": Severity.BLOCKING,
    "host_from_env": Severity.ADVISORY,
    "single_client": Severity.BLOCKING,
    "exception_autocapture": Severity.ADVISORY,
    "exception_captured": Severity.BLOCKING,
    "flush_on_shutdown": Severity.BLOCKING,
    "identify_on_signup": Severity.BLOCKING,
    "identify_on_login": Severity.BLOCKING,
    "no_pii_in_events": Severity.BLOCKING,
    "distinct_id_from_header": Severity.BLOCKING,
    "session_id_from_header": Severity.BLOCKING,
    "no_silent_drops": Severity.BLOCKING,
    "behaviour_preserved": Severity.BLOCKING,
    "setup_report_matches": Severity.ADVISORY,
    "tracking_plan_holds": Severity.BLOCKING,
}
WEIGHT = {Severity.BLOCKING: 3, Severity.ADVISORY: 1}
CREDIT = {Status.PASS: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0}


def severity_of(check_id: str) -> Severity:
    """A check outside the catalogue (a newer harness's) counts as blocking."""
    return SEVERITY.get(check_id, Severity.BLOCKING)


@dataclasses.dataclass(frozen=True)
class Grade:
    """:param score: 0..100, None when no check was applicable (nothing judged).
    :param serves: ``boots`` passed: the app answered with PostHog pointed at the mock.
    :param reason: one line a person reads first.
    """

    score: float | None
    serves: bool
    reason: str

    def to_dict(self) -> dict[str, t.Any]:
        return {"score": self.score, "serves": self.serves, "reason": self.reason}

    @property
    def shown(self) -> str:
        """``87.5`` or ``-`` (nothing judged)."""
        return "-" if self.score is None else f"{self.score:.1f}".removesuffix(".0")


def weighted_score(checks: t.Iterable[Result]) -> float | None:
    """The formula in the module docstring."""
    earned = total = 0.0
    for result in checks:
        if result.status not in CREDIT:
            continue
        weight = WEIGHT[severity_of(result.check_id)]
        total += weight
        earned += weight * CREDIT[result.status]
    return None if total == 0 else round(100 * earned / total, 1)


def grade_of(app: AppReport) -> Grade:
    by_id = {result.check_id: result for result in app.checks}
    boots = by_id.get("boots")
    serves = boots is not None and boots.status is Status.PASS
    return Grade(weighted_score(app.checks), serves, reason_of(app, serves))


def rank_key(app: AppReport) -> tuple[int, float, str]:
    """Sort key, best first: serving apps, then score, then name."""
    grade = grade_of(app)
    return (0 if grade.serves else 1, -(grade.score or 0.0), app.app)


def ranked(apps: t.Iterable[AppReport]) -> list[AppReport]:
    """The apps, best first (:func:`rank_key`)."""
    return sorted(apps, key=rank_key)


def reason_of(app: AppReport, serves: bool) -> str:
    """One line: why this app has the grade it has."""
    by_status: dict[Status, list[Result]] = {}
    for result in app.checks:
        by_status.setdefault(result.status, []).append(result)
    boots = next((r for r in app.checks if r.check_id == "boots"), None)
    if app.error is not None:
        return f"not judged: {_first_line(app.error)}"
    if not serves and boots is not None:
        verb = "does not boot" if boots.status is Status.FAIL else "could not be booted"
        return f"{verb}: {_first_line(boots.summary)}"
    fails = by_status.get(Status.FAIL, [])
    blocking = [r.check_id for r in fails if severity_of(r.check_id) is Severity.BLOCKING]
    advisory = [r.check_id for r in fails if r.check_id not in blocking]
    parts = []
    if blocking:
        parts.append(f"fails {_names(blocking)} (blocking)")
    if advisory:
        parts.append(f"fails {_names(advisory)} (advisory)")
    if warns := by_status.get(Status.WARN):
        parts.append(f"warns on {_names([r.check_id for r in warns])}")
    if errors := by_status.get(Status.ERROR):
        parts.append(f"{len(errors)} not judged")
    if not parts:
        return "passes every applicable check" if by_status.get(Status.PASS) else "nothing judged"
    return "; ".join(parts)


def _names(ids: t.Sequence[str], most: int = 3) -> str:
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _first_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclasses.dataclass(frozen=True)
class ErrorGroup:
    """Checks of one app that errored with the same summary (shown once)."""

    summary: str
    check_ids: tuple[str, ...]
    first: Result


def error_groups(checks: t.Iterable[Result]) -> list[ErrorGroup]:
    """An app's errors, identical summaries merged, in the order first seen."""
    groups: dict[str, list[Result]] = {}
    for result in checks:
        if result.status is Status.ERROR:
            groups.setdefault(result.summary, []).append(result)
    return [
        ErrorGroup(summary, tuple(r.check_id for r in results), results[0])
        for summary, results in groups.items()
    ]
