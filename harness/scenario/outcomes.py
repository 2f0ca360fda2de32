"""Attach to each exchange what the app's own process saw while serving it.

The driver knows what came back over the wire; the child knows why: the
exception a request raised (with its traceback), or that the process died
while a request was in flight. This joins the two, after the drive::

    exchanges, crashed = with_failures(result.exchanges, observed, outcome, app_gone=True)
    exchanges[3].failure.cause      # "sqlite3.OperationalError: no such table: user"
    crashed.index if crashed else None   # the request the process died serving

The probe's own exception is expected and is not a failure.
"""

from __future__ import annotations

import dataclasses
import signal
import typing as t

from harness.run import StepFailure
from harness.subject.observations import PROBE_ERROR

if t.TYPE_CHECKING:
    from harness.run import Exchange
    from harness.run import ProcessOutcome
    from harness.subject.observations import Observations


def exit_description(outcome: ProcessOutcome | None) -> str:
    """``exit code 7`` or ``killed by signal SIGSEGV``."""
    code = outcome.exit_code if outcome is not None else None
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def with_failures(
    exchanges: t.Sequence[Exchange],
    observed: Observations,
    outcome: ProcessOutcome | None,
    *,
    app_gone: bool,
) -> tuple[tuple[Exchange, ...], Exchange | None]:
    """The exchanges with the child's failures attached, and the one the process
    died serving (when ``app_gone``: the drive stopped because nothing answered).

    A request the child started and never finished, in a process that then
    died, is the one that crashed; without such a record (the log lost its last
    line), the request before the refused one, when it lost its connection.
    """
    joined = [_attach(x, observed.request_errors.get(x.index)) for x in exchanges]
    if not app_gone:
        return tuple(joined), None
    crashed = _crashed(joined, observed.unfinished)
    if crashed is None:
        return tuple(joined), None
    cause = f"the process died while serving this request ({exit_description(outcome)})"
    detail = (outcome.stderr_tail if outcome is not None else "")[-2000:]
    failure = StepFailure(cause=cause, traceback_tail=detail)
    joined[crashed.index] = dataclasses.replace(crashed, failure=failure)
    return tuple(joined), joined[crashed.index]


def _attach(exchange: Exchange, failure: StepFailure | None) -> Exchange:
    if failure is None or (exchange.kind == "probe" and PROBE_ERROR in failure.cause):
        return exchange
    return dataclasses.replace(exchange, failure=failure)


def _crashed(exchanges: list[Exchange], unfinished: tuple[int, ...]) -> Exchange | None:
    by_index = {x.index: x for x in exchanges}
    started = [by_index[i] for i in unfinished if i in by_index]
    if started:
        return started[-1]
    # The last exchange found nothing listening; the one before it lost its
    # connection mid-request when the process died serving it.
    if len(exchanges) >= 2 and exchanges[-2].status is None:
        return exchanges[-2]
    return exchanges[-1] if exchanges and exchanges[-1].status is None else None


#: Steps that raise on purpose: their exception is what they are for.
EXPECTED_TO_RAISE = frozenset({"probe", "error"})


def step_failed(exchange: Exchange) -> bool:
    """The exchange failed, in the sense of the blame rule (docs/checks.md):
    it has a failure and answered 5xx or nothing, and it is not a probe or
    ``[errors]`` path raising as it should (unless the integration broke it)."""
    failure = exchange.failure
    if failure is None or (exchange.status is not None and exchange.status < 500):
        return False
    answered = exchange.status is not None
    return not (answered and exchange.kind in EXPECTED_TO_RAISE and not failure.in_integration)
