"""The integration's footprint on the app's own behaviour: ``behaviour_preserved``.

PostHog's guidance to integrators: add PostHog beside the existing code, do not
replace or restructure it. Judged against a baseline (the app before the
integration, ``--posthog-baseline`` or the manifest's ``baseline``), which the
harness drives the same way (:attr:`harness.run.Run.baseline`): step by step,
the same requests, statuses, redirects, forms and page text
(:mod:`harness.checks._compare`), and the app's own tests that pass on the
baseline still pass (:mod:`harness.subject.suite`).
"""

from __future__ import annotations

import typing as t

from harness.checks._compare import Difference
from harness.checks._compare import Normaliser
from harness.checks._compare import compare
from harness.checks._events import capped
from harness.checks._events import result
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Run
    from harness.run import SuiteOutcome

CHECK = "behaviour_preserved"
NO_BASELINE = (
    "no baseline to compare with: give --posthog-baseline PATH (the app before integration)"
)


def not_applicable(run: Run) -> dict[str, str]:
    """``behaviour_preserved`` with no baseline to compare with, and why: it is
    ``skip`` whatever else happened (a boot failure, a failed step)."""
    return {CHECK: NO_BASELINE} if run.baseline is None else {}


def behaviour_preserved(run: Run) -> Result:
    """The app behaves as its baseline does, apart from what PostHog adds."""
    baseline = run.baseline
    if baseline is None:
        return result(CHECK, Status.SKIP, NO_BASELINE)
    if baseline.boot_failure is not None or baseline.harness_errors or not baseline.exchanges:
        cause = (
            baseline.boot_failure.cause
            if baseline.boot_failure is not None
            else "; ".join(baseline.harness_errors) or "it answered no request"
        )
        return result(
            CHECK,
            Status.ERROR,
            f"not judged: the baseline ({baseline.root}) could not be driven: {cause}",
        )
    if run.boot_failure is not None and not run.exchanges:
        if not run.boot_failure.app_raised:
            return result(
                CHECK,
                Status.ERROR,
                f"not judged: the app could not be driven: {run.boot_failure.cause}",
            )
        summary = f"the app does not boot where its baseline does: {run.boot_failure.cause}"
        return result(CHECK, Status.FAIL, summary)
    base_norm = Normaliser.of(
        baseline.canaries, baseline.distinct_id_header, baseline.session_id_header, baseline.token
    )
    app_norm = Normaliser.of(run.canaries, run.distinct_id_header, run.session_id_header, run.token)
    differences = compare(baseline.exchanges, base_norm, run.exchanges, app_norm)
    regressions = broken_tests(baseline.suite, run.suite)
    steps = len({x.step for x in baseline.exchanges})
    suite_said = _suite_said(baseline.suite, run.suite, regressions)
    if not differences and not regressions:
        summary = (
            f"the app behaves as its baseline on all {steps} steps (requests, statuses, "
            f"redirects, forms and page text); {suite_said}"
        )
        return result(CHECK, Status.PASS, summary)
    items = [_quoted(d, run) for d in differences] + [
        _test_quoted(test, run.suite) for test in regressions
    ]
    parts = []
    if differences:
        first = differences[0]
        parts.append(
            f"{len(differences)} of {steps} steps differ from the baseline, first {first.step} "
            f"({first.what}): baseline {first.baseline!r}, app {first.app!r}"
        )
    if regressions:
        shown = ", ".join(regressions[:3])
        parts.append(
            f"{len(regressions)} of the app's own tests pass on the baseline and fail on the app: "
            f"{shown}"
        )
    else:
        parts.append(suite_said)
    return result(CHECK, Status.FAIL, "; ".join(parts), capped(items))


def broken_tests(baseline: SuiteOutcome | None, app: SuiteOutcome | None) -> list[str]:
    """The tests that pass on the baseline and fail (or error) on the app."""
    if baseline is None or app is None:
        return []
    return [
        test
        for test, status in baseline.tests.items()
        if status == "passed" and app.tests.get(test) in ("failed", "error")
    ]


def _suite_said(
    baseline: SuiteOutcome | None, app: SuiteOutcome | None, regressions: t.Sequence[str]
) -> str:
    """What the own test suites told, in a few words."""
    if baseline is None and app is None:
        return "neither has a test suite of its own"
    if app is None:
        return "the app has no test suite of its own (the baseline's was not compared)"
    if baseline is None:
        return "the baseline has no test suite to compare the app's with"
    for who, outcome in (("baseline", baseline), ("app", app)):
        if outcome.note:
            return f"the {who}'s own tests could not be compared: {outcome.note}"
    if regressions:
        return f"{len(regressions)} own tests broken"
    passed = sum(
        1 for test, s in baseline.tests.items() if s == "passed" and app.tests.get(test) == "passed"
    )
    return f"the {passed} own tests that pass on the baseline pass on the app"


def _quoted(difference: Difference, run: Run) -> dict[str, t.Any]:
    item: dict[str, t.Any] = {
        "step": difference.step,
        "value": difference.what,
        "baseline": difference.baseline,
        "app": difference.app,
    }
    if difference.what == "missing":
        why = run.steps_skipped.get(difference.step)
        item["note"] = (
            f"the app's run left it out: {why}" if why else "the app's run did not make it"
        )
    elif difference.note:
        item["note"] = difference.note
    return item


def _test_quoted(test: str, suite: SuiteOutcome | None) -> dict[str, t.Any]:
    message = suite.messages.get(test, "") if suite is not None else ""
    status = suite.tests.get(test, "") if suite is not None else ""
    item: dict[str, t.Any] = {"test": test, "baseline": "passed", "app": status}
    if message:
        item["note"] = message
    return item
