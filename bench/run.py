"""Benchmark: where a verification's time goes, on this machine.

    python bench/run.py                 # the full benchmark (50 apps)
    python bench/run.py --apps 5 --repeat 1   # the reduced form CI runs

Prints, each measured here and now (nothing is asserted):

1. the floor: a bare ``python -c "import flask, posthog"``, and the SDK's retry
   backoff the flush check provokes on purpose (500 on the first batch after
   the stop signal), measured against the harness's own mock;
2. wall time to fully verify one app (all checks), from the ``pytest`` command
   to its exit, median of ``--repeat`` runs, and its excess over the floor;
3. wall time for N copies of the reference app with ``-n 0`` and ``-n 2``, and
   apps per second;
4. peak memory (max RSS) per pytest process (each xdist worker) while judging
   those N apps; app children are separate processes and not counted.
"""

from __future__ import annotations

import argparse
import json
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


def verify(apps: str, workers: int, out: Path) -> tuple[float, dict[str, int]]:
    """Wall seconds of one verification run, and each process's peak RSS (KiB)."""
    env_file = out / "rss"
    shutil.rmtree(env_file, ignore_errors=True)
    env_file.mkdir(parents=True)
    report = out / "report.json"
    env = {"BENCH_RSS_DIR": str(env_file), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(
        verify_command(apps, workers, report),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**_environ(), **env},
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"verification failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    statuses = {a["status"] for a in json.loads(report.read_text())["apps"]}
    if not statuses <= {"pass", "warn"}:
        raise SystemExit(f"the reference copies did not all pass: {statuses}")
    rss = {p.name: int(p.read_text()) for p in env_file.iterdir()}
    return elapsed, rss


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=50, help="copies of the reference app")
    parser.add_argument("--repeat", type=int, default=5, help="runs per median")
    args = parser.parse_args(argv)
    print(f"posthog-verify benchmark: python {sys.version.split()[0]}, {_cpus()} cores")

    floor_import = import_floor(args.repeat)
    backoff = retry_backoff()
    floor = floor_import + backoff
    print("1. floor")
    print(f"   python -c 'import flask, posthog'   {floor_import:6.2f} s (median of {args.repeat})")
    print(f"   SDK retry backoff (500, then 200)   {backoff:6.2f} s")
    print(f"   floor                               {floor:6.2f} s")

    with tempfile.TemporaryDirectory(prefix="posthog-verify-bench-") as tmp:
        work = Path(tmp)
        one = [verify(str(REFERENCE), 0, work / "one")[0] for _ in range(args.repeat)]
        single = statistics.median(one)
        print("2. one app, all checks, pytest command to exit")
        excess = single - floor
        print(f"   median of {args.repeat}: {single:6.2f} s   excess over floor: {excess:+.2f} s")

        pattern = copies(args.apps, work / "apps")
        print(f"3. {args.apps} copies of the reference app")
        peaks: dict[str, int] = {}
        for workers in (0, 2):
            elapsed, rss = verify(pattern, workers, work / f"n{workers}")
            peaks |= {f"-n {workers} {name}": kib for name, kib in rss.items()}
            rate = args.apps / elapsed
            print(f"   -n {workers}: {elapsed:6.2f} s   {rate:5.2f} apps/s")
        print("4. peak memory per pytest process (max RSS)")
        for name, kib in sorted(peaks.items()):
            print(f"   {name:24s} {kib / 1024:7.1f} MiB")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
