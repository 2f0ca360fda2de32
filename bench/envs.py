"""Benchmark: what ``--posthog-install`` and ``--posthog-python`` cost, on this machine.

    python bench/envs.py                # 3 distinct requirement sets x 4 apps each
    python bench/envs.py --copies 1     # the reduced form the smoke test runs

Prints, each measured here and now (nothing is asserted):

1. one environment built cold (an empty posthog-verify cache; uv's own
   download cache as it is, so packages it already holds are not fetched)
   against the same environment reused from the cache;
2. ``pytest --posthog-verify --posthog-install -n 0`` over ``copies`` apps of each
   of 3 distinct requirement sets: first with an empty cache (3 installs),
   then again (every environment reused), with the cache hits the report gives;
3. one app verified under pytest's interpreter and under another with the
   same packages (``--posthog-python``, a zygote of its own);
4. one boot (spawn to ready) under werkzeug (forked from the zygote), and
   under gunicorn with 2 workers, preloaded or not (always spawned).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.envs import Requirements  # noqa: E402
from harness.envs import ensure_env  # noqa: E402

REFERENCE = ROOT / "target_apps" / "reference"
SETS = (
    ("flask==3.1.3", "posthog==7.91.1"),
    ("flask==2.3.3", "werkzeug==2.3.8", "posthog==6.0.0"),
    ("flask==3.1.3", "posthog==6.9.3"),
)


def _pytest(apps: str, cache: Path, report: Path, *extra: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["POSTHOG_VERIFY_CACHE"] = str(cache)
    command = [
        *(sys.executable, "-m", "pytest", "--posthog-verify", "-p", "no:cacheprovider", "-q"),
        *("--posthog-app", apps, f"--posthog-report={report}", "-n", "0", *extra),
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def _installs(report: Path) -> tuple[int, int, float]:
    data = json.loads(report.read_text())
    installs = [a["environment"]["install"] for a in data["apps"] if "environment" in a]
    built = [i for i in installs if not i["cache_hit"]]
    return len(built), len(installs) - len(built), sum(i["duration_s"] for i in built)


def one_environment(tmp: Path) -> str:
    """Builds pytest's own versions, so step 3 compares interpreters, not SDKs."""
    requirements = Requirements(tmp, "bench", SETS[0])
    cold = ensure_env(requirements, sys.executable, tmp / "cold")
    warm = ensure_env(requirements, sys.executable, tmp / "cold")
    print(f"1. one environment ({', '.join(SETS[0])})")
    print(f"   built cold: {cold.duration_s:6.2f} s   reused: {warm.duration_s * 1000:6.1f} ms")
    return warm.python


def many_apps(tmp: Path, copies: int) -> None:
    apps = tmp / "apps"
    for index, lines in enumerate(SETS):
        for copy in range(copies):
            app = apps / f"set{index}_copy{copy}"
            shutil.copytree(REFERENCE, app)
            (app / "requirements.txt").write_text("\n".join(lines) + "\n")
    cache = tmp / "many"
    total = len(SETS) * copies
    print(f"2. {total} apps, {len(SETS)} distinct requirement sets, --posthog-install -n 0")
    for label in ("empty cache", "warm cache"):
        report = tmp / f"{label.replace(' ', '_')}.json"
        wall = _pytest(str(apps / "*"), cache, report, "--posthog-install")
        built, reused, install_s = _installs(report)
        print(
            f"   {label:11}: {wall:6.2f} s wall, {built} built ({install_s:.2f} s), {reused} reused"
        )


def interpreters(tmp: Path, other: str) -> None:
    print("3. one app (reference), -n 0")
    for label, extra in (("pytest's", ()), ("another", (f"--posthog-python={other}",))):
        wall = _pytest(str(REFERENCE), tmp / "unused", tmp / "one.json", *extra)
        print(f"   {label:9} interpreter: {wall:6.2f} s wall")


def gunicorn_boot(tmp: Path) -> None:
    """The boot alone (spawn to READY), werkzeug against gunicorn with 2 workers."""
    from harness.subject.process import AppProcess
    from harness.subject.workspace import fresh_copy

    print("4. one boot of the reference app, spawn to ready (median of 3)")
    cases = (
        ("werkzeug", "werkzeug", ()),
        ("gunicorn -w 2", "gunicorn", ("--workers", "2", "--worker-class", "sync")),
        ("gunicorn -w 2 --preload", "gunicorn", ("--workers", "2", "--preload")),
    )
    for label, server, args in cases:
        times = []
        for attempt in range(3):
            work = fresh_copy(REFERENCE, tmp / "boots", f"{server}-{len(args)}-{attempt}")
            log = tmp / "boots" / f"{work.name}.jsonl"
            env = dict(os.environ)
            with AppProcess(work, "app:create_app", env, log, server=server, server_args=args) as p:
                p.start()
                times.append(p.boot_duration_s or 0.0)
                p.stop()
        print(f"   {label:24}: {sorted(times)[1]:6.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=4, help="apps per requirement set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posthog-verify-bench-envs-") as tmp:
        other = one_environment(Path(tmp))
        many_apps(Path(tmp), args.copies)
        interpreters(Path(tmp), other)
        gunicorn_boot(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
