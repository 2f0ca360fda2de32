"""Benchmark: where a verification's time and CPU go, on this machine.

    python bench/run.py                      # the full benchmark (10, 50, 200 apps)
    python bench/run.py --apps 1,3 --repeat 1  # the reduced form CI runs

Prints, each measured here and now (nothing is asserted):

1. the floor: a bare ``python -c "import flask, posthog"``, and the SDK's retry
   backoff the flush check provokes on purpose (500 on the first batch after
   the stop signal), measured against the harness's own mock; and, apart, the
   CPU the reference app's own password hashing takes (signup and login),
   which no harness change can remove;
2. wall time and CPU to fully verify one app (all checks), from the
   ``pytest`` command to its exit, median of ``--repeat`` runs, and its
   excess over the floor;
3. for each ``--apps`` count of copies of the reference app: wall time, apps
   per second, and CPU in total and per app with ``-n 2`` (the smallest
   count also with ``-n 0``), so the growth shows; with two counts or more,
   the CPU each additional app costs and the fixed CPU of a run;
4. peak memory (max RSS) per pytest process (each xdist worker) while judging
   the largest count; app children are separate processes and not counted.

CPU is user + system time from ``getrusage(RUSAGE_CHILDREN)`` around the
``pytest`` subprocess: it covers every process of the run that was waited
for, which is all of them (pytest, its xdist workers, the zygote and the
namespace probe, every app process and its sandbox supervisor and init, every
set-up command), and nothing else the machine runs. It moves less with load
than wall time, but still moves (caches, frequency): compare runs made under
the same conditions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "target_apps" / "reference"


def timed(command: list[str]) -> float:
    """Wall seconds of one command; it must succeed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=_environ())
    return time.perf_counter() - started


def import_floor(repeat: int) -> float:
    return statistics.median(
        timed([sys.executable, "-c", "import flask, posthog"]) for _ in range(repeat)
    )


def retry_backoff() -> float:
    """Seconds between the SDK's first (refused) batch and its retry."""
    from posthog import Posthog

    from harness.capture import CaptureServer
    from harness.capture import RequestKind

    with CaptureServer() as mock:
        mock.faults.fail_next(1, 500, kind=RequestKind.CAPTURE)
        client = Posthog("phc_bench_synthetic", host=mock.url, flush_at=1)
        client.capture("bench", distinct_id="bench")
        mock.store.wait_for(lambda s: len(s.requests(RequestKind.CAPTURE)) >= 2, timeout=10)
        client.shutdown()
        first, second = mock.store.requests(RequestKind.CAPTURE)[:2]
    return second.received_at - first.received_at


def verify_command(apps: str, workers: int, report: Path | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--posthog-verify",
        f"--posthog-app={apps}",
        "-p",
        "no:cacheprovider",
        "-q",
        "-n",
        str(workers),
        "-p",
        "bench._peak_rss",
        # hypothesis is a test dependency of this repo, not of the plugin; its
        # pytest plugin's own start-up is not ours to measure.
        "-p",
        "no:hypothesispytest",
    ]
    return [*command, f"--posthog-report={report}"] if report else command


@dataclasses.dataclass(frozen=True)
class Measured:
    """One verification run: wall and CPU seconds, and each pytest process's peak RSS (KiB)."""

    wall_s: float
    cpu_s: float
    rss_kib: dict[str, int]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def app_hashing_cpu(repeat: int) -> float:
    """CPU seconds of what the reference app's signup and login hash
    (werkzeug's default ``generate_password_hash`` and one check), median of ``repeat``."""
    from werkzeug.security import check_password_hash
    from werkzeug.security import generate_password_hash

    def once() -> float:
        started = time.process_time()
        check_password_hash(generate_password_hash("bench-password"), "bench-password")
        return time.process_time() - started

    return statistics.median(once() for _ in range(repeat))


def verify(apps: str, workers: int, out: Path) -> Measured:
    """Run one verification; it must succeed with every reference copy passing."""
    env_file = out / "rss"
    shutil.rmtree(env_file, ignore_errors=True)
    env_file.mkdir(parents=True)
    report = out / "report.json"
    env = {"BENCH_RSS_DIR": str(env_file), "PYTHONPATH": str(ROOT)}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        verify_command(apps, workers, report),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**_environ(), **env},
    )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if proc.returncode != 0:
        raise SystemExit(f"verification failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    statuses = {a["status"] for a in json.loads(report.read_text())["apps"]}
    if not statuses <= {"pass", "warn"}:
        raise SystemExit(f"the reference copies did not all pass: {statuses}")
    rss = {p.name: int(p.read_text()) for p in env_file.iterdir()}
    return Measured(elapsed, cpu, rss)


def _environ() -> dict[str, str]:
    """The environment a user's run has: bytecode caching on (a machine that
    sets PYTHONDONTWRITEBYTECODE recompiles every module on every run), no
    pytest variables of an enclosing run."""
    import os

    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k != "PYTHONDONTWRITEBYTECODE"
    }


def copies(n: int, into: Path) -> str:
    for i in range(n):
        shutil.copytree(
            REFERENCE, into / f"reference_{i:03d}", ignore=shutil.ignore_patterns("__pycache__")
        )
    return str(into / "reference_*")


def _counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"expected counts of apps such as 10,50,200, not {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--apps",
        type=_counts,
        default=[10, 50, 200],
        help="copies of the reference app, e.g. 10,50",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per median")
    args = parser.parse_args(argv)
    print(f"posthog-verify benchmark: python {sys.version.split()[0]}, {_cpus()} cores")
    print(f"   load average at start {_load()}")

    floor_import = import_floor(args.repeat)
    backoff = retry_backoff()
    floor = floor_import + backoff
    hashing = app_hashing_cpu(args.repeat)
    print("1. floor")
    print(f"   python -c 'import flask, posthog'   {floor_import:6.2f} s (median of {args.repeat})")
    print(f"   SDK retry backoff (500, then 200)   {backoff:6.2f} s")
    print(f"   floor                               {floor:6.2f} s")
    print(f"   the app's own password hashing      {hashing:6.2f} CPU-s per app (signup + login)")

    with tempfile.TemporaryDirectory(prefix="posthog-verify-bench-") as tmp:
        work = Path(tmp)
        one = [verify(str(REFERENCE), 0, work / "one") for _ in range(args.repeat)]
        single = statistics.median(m.wall_s for m in one)
        single_cpu = statistics.median(m.cpu_s for m in one)
        print("2. one app, all checks, pytest command to exit")
        excess = single - floor
        print(
            f"   median of {args.repeat}: {single:6.2f} s   excess over floor: {excess:+.2f} s"
            f"   CPU {single_cpu:5.2f} s"
        )

        counts = args.apps
        print(f"3. {', '.join(map(str, counts))} copies of the reference app")
        print("   apps  -n    wall   apps/s   CPU total   CPU per app")
        peaks: dict[str, int] = {}
        parallel: dict[int, float] = {}  # apps -> CPU total with -n 2
        for count in counts:
            pattern = copies(count, work / f"apps{count}")
            for workers in (0, 2) if count == counts[0] else (2,):
                measured = verify(pattern, workers, work / f"n{workers}")
                if count == counts[-1]:
                    peaks |= {f"-n {workers} {name}": kib for name, kib in measured.rss_kib.items()}
                if workers == 2:
                    parallel[count] = measured.cpu_s
                print(
                    f"   {count:4d}  {workers:2d}  {measured.wall_s:6.2f} s  "
                    f"{count / measured.wall_s:5.2f}    {measured.cpu_s:7.2f} s   "
                    f"{measured.cpu_s / count:6.3f} s"
                )
            shutil.rmtree(work / f"apps{count}")
        if len(parallel) > 1:
            print_growth(parallel)
        print(f"4. peak memory per pytest process (max RSS), {counts[-1]} apps")
        for name, kib in sorted(peaks.items()):
            print(f"   {name:24s} {kib / 1024:7.1f} MiB")
    print(f"   load average at end {_load()}")
    return 0


def print_growth(parallel: dict[int, float]) -> None:
    """CPU per additional app (the slope between the smallest and largest
    counts) and what a run costs whatever its size (the intercept: pytest and
    its workers starting, a zygote and a namespace probe per worker). The
    slope is what a large run pays per app; CPU per app above mixes in the
    fixed part, which small counts feel most."""
    (low, low_cpu), (high, high_cpu) = min(parallel.items()), max(parallel.items())
    slope = (high_cpu - low_cpu) / (high - low)
    fixed = low_cpu - slope * low
    print(f"   -n 2: {slope:.3f} CPU-s per additional app, {fixed:.2f} CPU-s fixed per run")


def _load() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
