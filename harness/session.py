"""The verification session: which apps, verified once each, results gathered.

One :class:`VerifySession` lives on ``config.stash`` for the whole pytest run.
On a worker (or without xdist) it verifies apps in a thread pool: verifying is
mostly waiting on a child process (imports, the SDK's retry backoff), so
several apps in flight per worker overlap those idle waits. On the controller
it gathers each item's result from ``TestReport.user_properties`` (the only
channel xdist carries) and builds the report.

Apps are dealt round-robin into one bucket per xdist worker, and each bucket is
one ``xdist_group``: a worker receives its whole bucket at once, so it can start
every app of it without waiting for the scheduler to hand them out one by one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import typing as t
from pathlib import Path

from harness.checks import CHECK_IDS
from harness.checks import run_checks
from harness.report import AppReport
from harness.report.connections import merge_connections
from harness.target.process import interrupt_all
from harness.target.process import warm_up
from harness.verdict import Result
from harness.verdict import Status
from harness.verify import Options
from harness.verify import verify_app

if t.TYPE_CHECKING:
    from harness.settings import Shard

# However an app behaves, its outcome arrives within its phase deadlines; this
# is a last guard against a harness bug, far above any deadline.
OUTCOME_GUARD_S = 600.0


@dataclasses.dataclass(frozen=True)
class AppEntry:
    name: str
    path: Path
    bucket: int


@dataclasses.dataclass(frozen=True)
class AppOutcome:
    """The verdicts on one app (the Run itself is not kept: memory stays flat)."""

    entry: AppEntry
    results: dict[str, Result]
    duration_s: float
    isolation: str = ""
    connections: tuple[dict[str, t.Any], ...] = ()

    def item_property(self, check_id: str) -> dict[str, t.Any]:
        return {
            "app": self.entry.name,
            "path": str(self.entry.path),
            "duration_s": round(self.duration_s, 3),
            "result": self.results[check_id].to_dict(),
            "isolation": self.isolation,
            "connections": list(self.connections),
        }


def name_apps(paths: t.Sequence[Path]) -> list[tuple[str, Path]]:
    """A short unique name per app: its folder name, or more of its path on a clash."""
    names = [p.name for p in paths]
    depth = 1
    while len(set(names)) < len(names) and depth < 8:
        depth += 1
        names = ["/".join(p.parts[-depth:]) for p in paths]
    return list(zip(names, paths, strict=True))


def select(paths: t.Sequence[Path], shard: Shard | None, buckets: int) -> list[AppEntry]:
    """This job's share of the apps (deterministic across jobs), dealt into buckets."""
    named = sorted(name_apps(paths))
    if shard is not None:
        named = [item for i, item in enumerate(named) if i % shard.count == shard.index - 1]
    return [AppEntry(name, path, i % max(buckets, 1)) for i, (name, path) in enumerate(named)]


class VerifySession:
    """Verifies each app once, lazily, several at a time; gathers results."""

    def __init__(self, entries: list[AppEntry], options: Options, *, concurrency: int) -> None:
        self.entries = entries
        self.options = options
        self.check_ids: tuple[str, ...] = CHECK_IDS
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="posthog-verify"
        )
        self._futures: dict[str, concurrent.futures.Future[AppOutcome]] = {}
        self.gathered: dict[str, dict[str, t.Any]] = {}

    def warm_up(self) -> None:
        """Get the app launcher ready in the background (this process verifies)."""
        self._pool.submit(warm_up, self.options.server)

    def outcome(self, entry: AppEntry) -> AppOutcome:
        """The verdicts on ``entry``; starts it and the rest of its bucket if needed."""
        later = [e for e in self.entries if e.bucket == entry.bucket]
        for other in later[later.index(entry) :]:
            if other.name not in self._futures:
                self._futures[other.name] = self._pool.submit(self._verify, other)
        return self._futures[entry.name].result(timeout=OUTCOME_GUARD_S)

    def _verify(self, entry: AppEntry) -> AppOutcome:
        try:
            run = verify_app(entry.path, name=entry.name, options=self.options)
            results = {r.check_id: r for r in run_checks(run)}
            connections = tuple(merge_connections(run.connections))
            return AppOutcome(entry, results, run.duration_s, run.isolation, connections)
        except Exception as exc:  # a harness fault: every check is error, none is a verdict
            summary = f"harness fault while verifying the app: {type(exc).__name__}: {exc}"
            results = {c: Result(c, Status.ERROR, summary) for c in self.check_ids}
            return AppOutcome(entry, results, 0.0)

    def gather(self, nodeid: str, properties: t.Iterable[tuple[str, object]]) -> None:
        """Keep an item's result from its report (controller or single process)."""
        for key, value in properties:
            if key == "posthog_verify" and isinstance(value, dict):
                self.gathered.setdefault(nodeid, value)

    def app_reports(self) -> list[AppReport]:
        """One report per app, checks in catalogue order, apps in name order."""
        by_app: dict[str, list[dict[str, t.Any]]] = {}
        for value in self.gathered.values():
            by_app.setdefault(value["app"], []).append(value)
        reports = []
        for name in sorted(by_app):
            values = by_app[name]
            order = {c: i for i, c in enumerate(self.check_ids)}
            results = sorted(
                (Result.from_dict(v["result"]) for v in values),
                key=lambda r: order.get(r.check_id, len(order)),
            )
            reports.append(
                AppReport.from_results(
                    app=name,
                    path=values[0]["path"],
                    duration_s=values[0]["duration_s"],
                    checks=tuple(results),
                    isolation=values[0].get("isolation", ""),
                    connections=values[0].get("connections", ()),
                )
            )
        return reports

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: end every app now, so each verification still
        running unwinds (workspace removed) at once; start no other."""
        interrupt_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
