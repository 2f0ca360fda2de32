"""flush_on_shutdown: events a gunicorn worker queued into a client built before the fork."""

from __future__ import annotations

import dataclasses

from checks_runs import good_run

from harness.checks import flush_on_shutdown
from harness.checks import run_checks
from harness.checks import single_client
from harness.checks.forks import forked_losses
from harness.run import BootFailure
from harness.run import Phase
from harness.run import ProcessOutcome
from harness.run import Run
from harness.verdict import Status

ARBITER, WORKERS = 100, (201, 202)


def _gunicorn(run: Run, *, preload: bool, delivered: bool) -> Run:
    """The good run, its messages queued by two workers; the client built in the
    arbiter (preload) or once in each worker."""
    base = run.clients[0]
    if preload:
        clients = (dataclasses.replace(base, pid=ARBITER),)
    else:
        clients = tuple(dataclasses.replace(base, pid=pid) for pid in WORKERS)
    enqueued = tuple(dataclasses.replace(m, pid=WORKERS[i % 2]) for i, m in enumerate(run.enqueued))
    events = run.events if delivered else ()
    return dataclasses.replace(run, clients=clients, enqueued=enqueued, events=events)


def test_a_client_built_before_the_fork_loses_the_workers_events() -> None:
    run = _gunicorn(good_run(), preload=True, delivered=False)
    verdict = flush_on_shutdown(run)
    assert verdict.status is Status.FAIL
    assert verdict.summary.startswith(
        f"client #0 was built at app.py:12 in pid {ARBITER}, before gunicorn forked "
        f"its workers; worker(s) 201, 202 queued {len(run.enqueued)} events into it that "
        "never arrived"
    )
    assert "posthog-python#290" in verdict.summary
    (item,) = verdict.evidence
    assert item["workers"] == [201, 202]
    assert item["lost"] == len(run.enqueued)
    assert item["note"] == f"built in pid {ARBITER}"


def test_the_stop_that_hangs_on_it_does_not_hide_the_loss() -> None:
    """A worker's shutdown() waits forever on a queue nobody drains: SIGKILL."""
    run = _gunicorn(good_run(), preload=True, delivered=False)
    killed = ProcessOutcome(pid=ARBITER, exit_code=-9, stop_signal="SIGKILL", stop_duration_s=10)
    run = dataclasses.replace(
        run, process=killed, boot_failure=BootFailure(Phase.STOP, "the app did not stop")
    )
    verdicts = {r.check_id: r for r in run_checks(run)}
    assert verdicts["flush_on_shutdown"].status is Status.FAIL
    assert "before gunicorn forked" in verdicts["flush_on_shutdown"].summary


def test_a_client_per_worker_is_no_fork_loss() -> None:
    run = _gunicorn(good_run(), preload=False, delivered=False)
    assert forked_losses(run) == []
    assert "before gunicorn forked" not in flush_on_shutdown(run).summary


def test_delivered_events_are_no_fork_loss() -> None:
    run = _gunicorn(good_run(), preload=True, delivered=True)
    assert forked_losses(run) == []
    assert flush_on_shutdown(run).status is Status.PASS


def test_single_client_means_one_per_worker_process() -> None:
    per_worker = _gunicorn(good_run(), preload=False, delivered=True)
    verdict = single_client(per_worker)
    assert verdict.status is Status.PASS
    assert verdict.summary == "one client in each of 2 worker processes, built at boot"
    twice = dataclasses.replace(per_worker, clients=per_worker.clients[:1] * 2)
    assert single_client(twice).status is Status.FAIL  # two in one process
