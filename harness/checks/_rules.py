"""The rules that apply to every check, applied once: skip, boot failure, faults.

A check function judges a Run that was booted and driven. Whether it may
judge at all is decided here, in this order: the manifest's ``[skip]`` and
the claim checks with no claim to hold the app to (no setup report, no
tracking plan, no baseline: each module's ``not_applicable``), then
``Run.boot_failure``, then ``Run.harness_errors``, then the steps that failed
(:mod:`harness.checks._blame`); and a check that raises is a harness fault
(``error``), never a verdict on the app::

    results = apply_rules(run, CHECKS)

``harness_errors`` are plain strings. One that starts with a check id and a
colon (``"flush_on_shutdown: ..."``), or with ``"stop:"`` or ``"no_env:"``,
touches only that check; any other (the mock's thread raised...) touches all.
"""

from __future__ import annotations

import traceback
import typing as t

from harness.checks import behaviour
from harness.checks import claims
from harness.checks._blame import blame_verdicts
from harness.checks._events import evidence
from harness.checks._events import result
from harness.checks.boot import traceback_tail
from harness.checks.forks import forked_losses
from harness.checks.ids import READ_EVENTS
from harness.run import BootFailure
from harness.run import Phase
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Run

Check = t.Callable[["Run"], Result]

# Still judged when the drive stopped part-way: they only need the boot.
_JUDGED_AFTER_PARTIAL_DRIVE = frozenset(
    {"boots", "boots_without_posthog_env", "exception_autocapture"}
)
#: What a stop killed before anything was delivered leaves unjudged: the
#: events, and where their requests went.
_NEED_DELIVERY = frozenset({*READ_EVENTS, "host_from_env"})
_SCOPED_FAULTS = {
    "stop": "flush_on_shutdown",
    "no_env": "boots_without_posthog_env",
    "no_env_boot": "boots_without_posthog_env",
}


def not_applicable(run: Run) -> dict[str, str]:
    """The claim checks with nothing to hold the app to (no setup report, no
    tracking plan, no baseline), and why: ``skip`` whatever else happened.
    Nothing when the app was not found: its files (report, manifest) were not
    read, so its claims are unknown, not absent."""
    failure = run.boot_failure
    if failure is not None and failure.phase is Phase.DISCOVER:
        return {}
    return claims.not_applicable(run) | behaviour.not_applicable(run)


def boot_failure_verdicts(
    run: Run, failure: BootFailure, ids: t.Iterable[str]
) -> dict[str, Result]:
    """The checks a boot failure decides, by id; the others are judged as usual."""
    ids = tuple(ids)
    cause = f"{failure.phase.value}: {failure.cause}"
    if failure.phase is Phase.STOP:
        if forked_losses(run):  # the hang is the defect itself: flush_on_shutdown says so
            return {}
        if not run.events:
            # Killed before it delivered anything: what it held for the stop
            # was never seen (posthog 6.0.0 with flush_interval=30 holds a
            # batch for 30 s), so no check that reads the events can judge.
            summary = f"not judged: the stop failed before any event was delivered ({cause})"
            return _errors([i for i in ids if i in _NEED_DELIVERY], summary, failure)
        return _errors(["flush_on_shutdown"], f"not judged: the stop failed ({cause})", failure)
    if failure.phase is Phase.REQUEST:
        needed = [i for i in ids if i not in _JUDGED_AFTER_PARTIAL_DRIVE]
        return _errors(needed, f"not judged: the scenario stopped early ({cause})", failure)
    if failure.app_raised:
        verdicts = _errors(ids, "not judged: the app did not boot", failure)
        verdicts["boots"] = _raised(run, failure)
        return verdicts
    return _errors(ids, f"not judged: the app could not be booted ({cause})", failure)


def _errors(ids: t.Iterable[str], summary: str, failure: BootFailure) -> dict[str, Result]:
    tail = failure.detail.strip().splitlines()[-1:] if failure.detail.strip() else []
    items = [
        evidence(phase=failure.phase.value, value=tail[0] if tail else None, note=failure.cause)
    ]
    return {check: result(check, Status.ERROR, summary, items) for check in ids}


def _raised(run: Run, failure: BootFailure) -> Result:
    last, location = traceback_tail(failure.detail, (run.workspace, run.app.root))
    where = f" at {location}" if location else ""
    return result(
        "boots",
        Status.FAIL,
        f"the app's own code raised during {failure.phase.value}{where}: {last}",
        [evidence(phase=failure.phase.value, value=last, location=location, note=failure.cause)],
    )


def touched_by(fault: str, ids: t.Iterable[str]) -> tuple[str, ...]:
    """The checks one harness fault touches (all of them unless it is scoped)."""
    ids = tuple(ids)
    head = fault.split(":", 1)[0].strip()
    if head in ids:
        return (head,)
    if head in _SCOPED_FAULTS:
        return (_SCOPED_FAULTS[head],)
    return ids


def guarded(check_id: str, check: Check, run: Run) -> Result:
    """Run one check; if it raises, that is the harness's fault: ``error``."""
    try:
        verdict = check(run)
    except Exception as exc:  # a bug in a check must never read as pass or fail
        frames = traceback.extract_tb(exc.__traceback__)
        location = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
        return result(
            check_id,
            Status.ERROR,
            f"not judged: the check itself raised {type(exc).__name__}: {exc}",
            [evidence(location=location, note="a harness fault, not the app's")],
        )
    if verdict.check_id != check_id:
        return Result(check_id, verdict.status, verdict.summary, verdict.evidence)
    return verdict


def apply_rules(run: Run, checks: t.Mapping[str, Check]) -> list[Result]:
    """Every check's verdict on ``run``, in the mapping's order."""
    decided: dict[str, Result] = {}
    if run.boot_failure is not None:
        decided.update(boot_failure_verdicts(run, run.boot_failure, checks))
    for fault in run.harness_errors:
        for check in touched_by(fault, checks):
            decided.setdefault(
                check,
                result(
                    check,
                    Status.ERROR,
                    f"not judged: harness fault: {fault}",
                    [evidence(note="a harness fault, not the app's")],
                ),
            )
    # Failed steps: who is blamed is decided in one place (_blame.py).
    for check, verdict in blame_verdicts(run, checks).items():
        decided.setdefault(check, verdict)
    for check, reason in (not_applicable(run) | run.skip).items():
        if check in checks:
            decided[check] = result(check, Status.SKIP, reason or "skipped by the manifest")
    return [decided.get(check) or guarded(check, fn, run) for check, fn in checks.items()]
