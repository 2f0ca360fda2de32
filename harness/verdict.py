"""Statuses and results: what a check says about an app.

A :class:`Result` is plain data so it can ride ``TestReport.user_properties``
from an xdist worker to the controller and into the JSON report.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t


class Status(enum.StrEnum):
    """A check's verdict. ``error`` is the harness's, never the app's."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # an advisory rule is broken; never fails the run
    SKIP = "skip"  # not applicable, always with the reason
    ERROR = "error"  # the harness could not judge: not the app's fault, not a pass

    @property
    def severity(self) -> int:
        """Order for "the worst of": skip < pass < warn < fail < error.

        A skip is "not applicable": an app whose judged checks all pass has
        passed, whatever did not apply to it; only an app of which nothing
        applied is ``skip``.
        """
        return _SEVERITY[self]


_SEVERITY = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


@dataclasses.dataclass(frozen=True)
class Result:
    """One check's verdict on one app.

    :param summary: one line a person reads first.
    :param evidence: what was seen, quoted: each item a dict with keys such as
        ``event``, ``path`` (a property path like ``properties.email``),
        ``value`` (secrets redacted), ``request`` (the exchange that caused it),
        ``location`` (``file:line``), ``note``.
    """

    check_id: str
    status: Status
    summary: str
    evidence: tuple[dict[str, t.Any], ...] = ()

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "id": self.check_id,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: dict[str, t.Any]) -> Result:
        return cls(
            check_id=data["id"],
            status=Status(data["status"]),
            summary=data["summary"],
            evidence=tuple(data.get("evidence", ())),
        )
