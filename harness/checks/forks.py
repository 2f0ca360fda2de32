"""Events lost because their client was built before gunicorn forked.

A client built in the arbiter (``--preload``, or a module-level client there)
is copied into every worker without its consumer thread, so what the workers
queue into it is never sent (posthog-python#290; posthog 6.x still does this,
7.91 restarts its consumers after a fork). Pure: reads the Run's records::

    lost = forked_losses(run)   # one entry per pre-fork client that lost events
"""

from __future__ import annotations

import dataclasses
import typing as t

from harness.checks._events import acknowledged_uuids
from harness.checks._events import evidence
from harness.checks._events import plural

if t.TYPE_CHECKING:
    from harness.run import ClientConstruction
    from harness.run import Run


@dataclasses.dataclass(frozen=True)
class ForkLoss:
    """A client built in one process whose events, queued in others, never arrived."""

    client: ClientConstruction
    workers: tuple[int, ...]
    lost: int

    def summary(self) -> str:
        site = self.client.location
        where = f" at {site.file}:{site.line}" if site else ""
        return (
            f"client #{self.client.client_id} was built{where} in pid {self.client.pid}, "
            f"before gunicorn forked its workers; worker(s) "
            f"{', '.join(map(str, self.workers))} queued {plural(self.lost, 'event')} into "
            "it that never arrived: a forked worker has no consumer thread "
            "(posthog-python#290). Build the client per worker (a post_fork hook, or lazily "
            "on first use), or do not preload"
        )

    def evidence(self) -> dict[str, t.Any]:
        return evidence(
            location=self.client.location,
            note=f"built in pid {self.client.pid}",
            workers=list(self.workers),
            lost=self.lost,
        )


def forked_losses(run: Run) -> list[ForkLoss]:
    """Every client whose missing events were queued by another process."""
    delivered = acknowledged_uuids(run)
    # Client ids count per process: each worker's own client is its #0 too.
    built = {(c.client_id, c.pid) for c in run.clients}
    losses = []
    for client in run.clients:
        if client.pid is None:
            continue
        missing = [
            m
            for m in run.enqueued
            if m.client_id == client.client_id
            and m.pid is not None
            and (m.client_id, m.pid) not in built
            and m.uuid not in delivered
        ]
        if missing:
            workers = tuple(sorted({m.pid for m in missing if m.pid is not None}))
            losses.append(ForkLoss(client, workers, len(missing)))
    return losses
