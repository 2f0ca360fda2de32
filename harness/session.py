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
import json
import threading
import typing as t
from pathlib import Path

from harness.checks import CHECK_IDS
from harness.checks import run_checks
from harness.checks._blame import with_baseline
from harness.envs import environment_of
from harness.redact import Redactor
from harness.report import AppReport
from harness.report.facts import run_facts
from harness.report.facts import runtime_versions
from harness.run import Baseline
from harness.selection import Selection
from harness.subject.manifest import ManifestError
from harness.subject.manifest import load_manifest
from harness.subject.process import interrupt_all
from harness.verdict import Result
from harness.verdict import Status
from harness.verify import Options
from harness.verify import verify_app

if t.TYPE_CHECKING:
    from harness.run import Run
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
    """The verdicts on one app (the Run itself is not kept: memory stays flat).

    :param facts: the report's view of the run (discovery, steps, isolation...).
    """

    entry: AppEntry
    results: dict[str, Result]
    duration_s: float
    facts: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    def item_property(
        self, check_id: str, *, base: Path | None = None, with_facts: bool = True
    ) -> str:
        """The item's result as JSON text: it rides ``user_properties`` to the
        controller, and ``--junitxml`` writes it as it is (JSON, not a repr).

        :param base: where pytest ran; the app's path is shown relative to it.
        :param with_facts: carry the app's facts (one item of the app does:
            14 copies would swell ``--junitxml`` for nothing).
        """
        value = {
            "app": self.entry.name,
            "path": shown_path(self.entry.path, base),
            "duration_s": round(self.duration_s, 3),
            "result": self.shown_result(check_id, base=base).to_dict(),
            "facts": self.facts if with_facts else None,
        }
        return json.dumps(value, ensure_ascii=False, default=str)

    def shown_result(self, check_id: str, *, base: Path | None = None) -> Result:
        """The check's result with the app's absolute path shown relative to
        ``base`` in its summary and its evidence's top-level texts."""
        result = self.results[check_id]
        absolute, shown = str(self.entry.path), shown_path(self.entry.path, base)
        if absolute == shown:
            return result
        evidence = tuple(
            {k: v.replace(absolute, shown) if isinstance(v, str) else v for k, v in item.items()}
            for item in result.evidence
        )
        summary = result.summary.replace(absolute, shown)
        return Result(result.check_id, result.status, summary, evidence)


def compared(run: Run, baseline: Run) -> Run:
    """``run`` judged against its baseline's run: failures blamed by it
    (:func:`~harness.checks._blame.with_baseline`), and what
    ``behaviour_preserved`` compares carried as :attr:`Run.baseline`."""
    return dataclasses.replace(with_baseline(run, baseline), baseline=Baseline.of(baseline))


def shown_path(path: Path, base: Path | None) -> str:
    """``path`` relative to ``base`` when it is inside it, else as it is."""
    if base is None:
        return str(path)
    try:
        relative = path.relative_to(base)
    except ValueError:
        return str(path)
    return str(relative) if relative.parts else "."


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

    def __init__(
        self,
        entries: list[AppEntry],
        options: Options,
        *,
        concurrency: int,
        base: Path | None = None,
        selection: Selection | None = None,
    ) -> None:
        self.selection = selection or Selection({})
        # An app no node id asked for is never verified (nor started with its bucket).
        self.entries = [e for e in entries if self.selection.wants_app(e.name)]
        self.options = options
        self.base = base
        self.check_ids: tuple[str, ...] = CHECK_IDS
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="posthog-verify"
        )
        self._futures: dict[str, concurrent.futures.Future[AppOutcome]] = {}
        self._baselines: dict[Path, concurrent.futures.Future[Run]] = {}
        self._baseline_lock = threading.Lock()
        self._facts_sent: set[str] = set()
        self.gathered: dict[str, dict[str, t.Any]] = {}

    def outcome(self, entry: AppEntry) -> AppOutcome:
        """The verdicts on ``entry``; starts it and the rest of its bucket if needed."""
        later = [e for e in self.entries if e.bucket == entry.bucket]
        for other in later[later.index(entry) :]:
            if other.name not in self._futures:
                self._futures[other.name] = self._pool.submit(self._verify, other)
        return self._futures[entry.name].result(timeout=OUTCOME_GUARD_S)

    def first_report(self, entry: AppEntry) -> bool:
        """True once per app in this process: that item carries the app's facts.
        (An app's items all run in one process: its bucket is one xdist group.)"""
        first = entry.name not in self._facts_sent
        self._facts_sent.add(entry.name)
        return first

    def _verify(self, entry: AppEntry) -> AppOutcome:
        # Results leave the checks here, for every output at once: redacted
        # here, so no report format can show a secret the app was given.
        redactor = Redactor.for_app(entry.path, self.options.environ)
        try:
            baseline = self.baseline_of(entry.path)
            options = self.options
            if baseline is not None:  # the app's own tests are compared too
                options = dataclasses.replace(options, baseline=baseline, own_suite=True)
            run = verify_app(entry.path, name=entry.name, options=options)
            if baseline is not None:
                run = self._against_baseline(run, baseline)
            redactor = Redactor.for_app(entry.path, self.options.environ, token=run.token)
            results = {r.check_id: redactor.result(r) for r in run_checks(run)}
            facts = run_facts(run, versions=runtime_versions())
            environment = environment_of(run)  # what the app ran with, when known
            if environment is not None:
                facts["environment"] = environment
            facts = redactor.value(facts)
            return AppOutcome(entry, results, run.duration_s, facts)
        except Exception as exc:  # a harness fault: every check is error, none is a verdict
            summary = f"harness fault while verifying the app: {type(exc).__name__}: {exc}"
            results = {c: redactor.result(Result(c, Status.ERROR, summary)) for c in self.check_ids}
            return AppOutcome(entry, results, 0.0)

    def _against_baseline(self, run: Run, baseline: Path) -> Run:
        """``run`` compared with its baseline; when verifying the baseline
        faulted, ``run`` as it is, its baseline carrying the fault: only the
        comparison is lost (``behaviour_preserved`` is ``error``), not the
        app's own verdicts."""
        try:
            return compared(run, self.baseline_run(baseline))
        except Exception as exc:
            fault = f"harness fault while verifying the baseline: {type(exc).__name__}: {exc}"
            return dataclasses.replace(
                run, baseline=Baseline(root=str(baseline), harness_errors=(fault,))
            )

    def baseline_of(self, app: Path) -> Path | None:
        """The app's baseline: ``--posthog-baseline``, else its manifest's
        ``baseline`` (relative to the app), else none."""
        if self.options.baseline is not None:
            return self.options.baseline
        try:
            manifest = load_manifest(app)
        except ManifestError:
            return None  # verify_app reports the manifest's fault
        if manifest is None or manifest.baseline is None:
            return None
        return (app / manifest.baseline).resolve()

    def baseline_run(self, path: Path) -> Run:
        """The baseline's Run, verified once per path for every app that is
        compared with it (its own test suite included)."""
        key = path.resolve()
        with self._baseline_lock:
            future = self._baselines.get(key)
            owner = future is None
            if future is None:
                future = self._baselines[key] = concurrent.futures.Future()
        if owner:
            try:
                options = dataclasses.replace(self.options, baseline=None, own_suite=True)
                future.set_result(verify_app(path, name="baseline", options=options))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result(timeout=OUTCOME_GUARD_S)

    def gather(self, nodeid: str, properties: t.Iterable[tuple[str, object]]) -> None:
        """Keep an item's result from its report (controller or single process)."""
        for key, value in properties:
            if key == "posthog_verify" and isinstance(value, str):
                self.gathered.setdefault(nodeid, json.loads(value))

    def app_reports(self) -> list[AppReport]:
        """One report per app, checks in catalogue order, apps in name order
        (the reports rank them)."""
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
                    facts=next((v["facts"] for v in values if v.get("facts")), {}),
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
