"""The report's records: one app's verdicts, its score, and the totals of a run.

Everything here is plain data with one serialise/deserialise pair
(``to_dict``/``from_dict``) to JSON-able dicts. The same dicts ride
``TestReport.user_properties`` from an xdist worker to the controller and make
up the ``apps`` list of the JSON report, so the two can never drift apart::

    app = AppReport.from_results("shop", "apps/shop", results, duration_s=3.2)
    payload = app.to_dict()  # worker side
    assert AppReport.from_dict(payload) == app  # controller side
    totals = Totals.of([app])
"""

from __future__ import annotations

import dataclasses
import math
import typing as t

from harness.capture.records import to_jsonable
from harness.checks.ids import CHECK_IDS
from harness.report.grading import Grade
from harness.report.grading import grade_of
from harness.report.grading import severity_of
from harness.verdict import Result
from harness.verdict import Status

#: The keys of :func:`harness.report.facts.run_facts` an app's dict carries.
FACT_KEYS = (
    "discovery",
    "mode",
    "steps",
    "steps_skipped",
    "isolation",
    "connections",
    "connections_left_out",
    "versions",
    "versions_source",
    "environment",
)


def worst_status(statuses: t.Iterable[Status], *, default: Status = Status.SKIP) -> Status:
    """The most severe status (:attr:`Status.severity`), ``default`` when none.

    The default is ``skip``: an app of which nothing was judged has not passed.
    """
    return max(statuses, key=lambda s: s.severity, default=default)


@dataclasses.dataclass(frozen=True)
class Score:
    """How many of an app's (or a run's) checks ended in each status.

    ``applicable`` is pass + fail + warn: errors (the harness could not judge)
    and skips (not applicable) stay out of the denominator, so an
    infrastructure fault never reads as a bad integration.
    """

    passed: int = 0
    failed: int = 0
    warned: int = 0
    skipped: int = 0
    errors: int = 0

    @property
    def applicable(self) -> int:
        return self.passed + self.failed + self.warned

    @classmethod
    def of(cls, statuses: t.Iterable[Status]) -> Score:
        counts = dict.fromkeys(Status, 0)
        for status in statuses:
            counts[status] += 1
        return cls(
            passed=counts[Status.PASS],
            failed=counts[Status.FAIL],
            warned=counts[Status.WARN],
            skipped=counts[Status.SKIP],
            errors=counts[Status.ERROR],
        )

    def __add__(self, other: Score) -> Score:
        return Score(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )

    def count(self, status: Status) -> int:
        """The count for one status (``score.count(Status.FAIL)``)."""
        value: int = getattr(self, _SCORE_FIELD[status])
        return value

    def to_dict(self) -> dict[str, int]:
        """The score as the report writes it, ``applicable`` included."""
        return {
            "passed": self.passed,
            "applicable": self.applicable,
            "failed": self.failed,
            "warned": self.warned,
            "skipped": self.skipped,
            "errors": self.errors,
        }

    def status_counts(self) -> dict[str, int]:
        """Counts keyed by status value, the shape of ``totals.checks[id]``."""
        return {status.value: self.count(status) for status in Status}

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> Score:
        """Read either shape: :meth:`to_dict` or :meth:`status_counts`."""
        if "passed" in data:
            return cls(*(int(data[f.name]) for f in dataclasses.fields(cls)))
        return cls(*(int(data[status.value]) for status in _SCORE_FIELD))


# Field order of Score follows this mapping's order.
_SCORE_FIELD = {
    Status.PASS: "passed",
    Status.FAIL: "failed",
    Status.WARN: "warned",
    Status.SKIP: "skipped",
    Status.ERROR: "errors",
}


@dataclasses.dataclass(frozen=True)
class AppReport:
    """Every verdict on one app, in the order the checks ran.

    :param app: the name in test ids (``shop`` in ``shop::boots``).
    :param path: the app's folder as given; unique within a report.
    :param status: the worst of the checks (and ``error`` when ``error`` is
        set); build with :meth:`from_results` to have it computed.
    :param error: why the harness could not judge the app at all (nothing
        found, a hang), when that is known at the app's level.
    :param isolation: the isolation its processes ran under (``Run.isolation``).
    :param connections: the connections it tried, merged
        (:func:`harness.report.connections.merge_connections`).
    """

    app: str
    path: str
    status: Status
    duration_s: float
    checks: tuple[Result, ...]
    error: str | None = None
    facts: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        expected = _app_status(self.checks, self.error)
        if self.status is not expected:
            raise ValueError(
                f"AppReport {self.app!r}: status {self.status.value!r} is not the worst of "
                f"its checks ({expected.value!r}); build it with AppReport.from_results(...)"
            )

    @classmethod
    def from_results(
        cls,
        app: str,
        path: str,
        checks: t.Iterable[Result],
        *,
        duration_s: float = 0.0,
        error: str | None = None,
        facts: t.Mapping[str, t.Any] | None = None,
    ) -> AppReport:
        """Build the record with its status computed from the checks.

        :param facts: what the run was (:func:`harness.report.facts.run_facts`).
        """
        checks = tuple(checks)
        status = _app_status(checks, error)
        return cls(app, path, status, duration_s, checks, error, dict(facts or {}))

    @property
    def score(self) -> Score:
        return Score.of(result.status for result in self.checks)

    @property
    def grade(self) -> Grade:
        """The weighted score, whether it serves, the one-line reason."""
        return grade_of(self)

    @property
    def verdict(self) -> str:
        """``passed``, ``failed`` or ``errored``, for the run's app counts.

        A fail outranks an error here (unlike :attr:`status`): an app whose own
        code raised at boot fails ``boots`` and errors everything else, and
        that is a verdict on the app, not a harness fault.
        """
        score = self.score
        if score.failed:
            return "failed"
        if score.errors or self.error is not None:
            return "errored"
        return "passed"

    def to_dict(self) -> dict[str, t.Any]:
        """A JSON-able dict; evidence values that JSON cannot hold become text."""
        return {
            "app": self.app,
            "path": self.path,
            "status": self.status.value,
            "duration_s": self.duration_s,
            "score": self.score.to_dict(),
            "grade": self.grade.to_dict(),
            "error": self.error,
            "checks": [
                _plain({**result.to_dict(), "severity": severity_of(result.check_id).value})
                for result in self.checks
            ],
            **{key: _plain(value) for key, value in self.facts.items()},
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> AppReport:
        """The inverse of :meth:`to_dict`; ``score`` is recomputed, not read.

        :raises ValueError: naming the app and the missing or bad field.
        """
        name = data.get("app", "?") if isinstance(data, t.Mapping) else "?"
        try:
            return cls(
                app=str(data["app"]),
                path=str(data["path"]),
                status=Status(data["status"]),
                duration_s=float(data["duration_s"]),
                checks=tuple(Result.from_dict(check) for check in data["checks"]),
                error=data.get("error"),
                facts={key: data[key] for key in FACT_KEYS if key in data},
            )
        except KeyError as exc:
            raise ValueError(f"app {name!r}: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"app {name!r}: {exc}") from None


def _app_status(checks: t.Sequence[Result], error: str | None) -> Status:
    statuses = [result.status for result in checks]
    if error is not None:
        statuses.append(Status.ERROR)
    return worst_status(statuses)


@dataclasses.dataclass(frozen=True)
class Overall:
    """The run in a line: how many apps passed, failed, could not be judged.

    ``apps_passed + apps_failed + apps_errored == apps`` (see
    :attr:`AppReport.verdict`); ``score`` sums every app's score.
    """

    apps: int
    apps_passed: int
    apps_failed: int
    apps_errored: int
    score: Score

    def to_dict(self) -> dict[str, t.Any]:
        data = dataclasses.asdict(self)
        data["score"] = self.score.to_dict()
        return data


@dataclasses.dataclass(frozen=True)
class Totals:
    """Counts over a run's apps.

    :param checks: check id -> counts per status over the apps, in catalogue
        order (ids outside the catalogue follow, first seen first).
    :param apps: app path (unique in a report) -> that app's score.
    """

    checks: dict[str, Score]
    apps: dict[str, Score]
    overall: Overall

    @classmethod
    def of(cls, apps: t.Sequence[AppReport]) -> Totals:
        checks = {check_id: Score() for check_id in check_columns(apps)}
        for app in apps:
            for result in app.checks:
                checks[result.check_id] += Score.of([result.status])
        verdicts = [app.verdict for app in apps]
        overall = Overall(
            apps=len(apps),
            apps_passed=verdicts.count("passed"),
            apps_failed=verdicts.count("failed"),
            apps_errored=verdicts.count("errored"),
            score=sum((app.score for app in apps), Score()),
        )
        return cls(checks, {app.path: app.score for app in apps}, overall)

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "checks": {check_id: s.status_counts() for check_id, s in self.checks.items()},
            "apps": {path: s.to_dict() for path, s in self.apps.items()},
            "overall": self.overall.to_dict(),
        }


def check_columns(apps: t.Iterable[AppReport]) -> tuple[str, ...]:
    """The check ids any app has, catalogue order first, then unknown ids as seen."""
    seen = dict.fromkeys(result.check_id for app in apps for result in app.checks)
    known = [check_id for check_id in CHECK_IDS if check_id in seen]
    return (*known, *(check_id for check_id in seen if check_id not in CHECK_IDS))


def _plain(value: t.Any) -> t.Any:
    """Make evidence JSON-able: records via ``to_jsonable``, anything else as text."""
    value = to_jsonable(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN/inf are not JSON
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
