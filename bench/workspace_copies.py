"""Benchmark: what the two boots' workspaces cost, two copies against a copy and a clone.

    python bench/workspace_copies.py [APP_DIR ...]  # default: target_apps/*, tests/apps/styles/*

For each app, best of 5: the time to make two fresh copies of the user's tree
(what ``verify.py`` did before) and one copy plus a clone of it (what it does
now), and the bytes each writes (hard links write none). Prints, asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from harness.subject.workspace import SHARED_SUFFIXES
from harness.subject.workspace import clone
from harness.subject.workspace import fresh_copy
from harness.subject.workspace import on_disk

ROOT = Path(__file__).resolve().parents[1]


def _written(tree: Path, *, shared: bool) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(dirpath, name)
            if shared and path.suffix.lower() in SHARED_SUFFIXES:
                continue
            total += on_disk(path.lstat())
    return total


def _best(make: object, app: Path, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            make(app, Path(tmp))  # type: ignore[operator]
            times.append(time.perf_counter() - start)
    return min(times)


def _two_copies(app: Path, tmp: Path) -> None:
    fresh_copy(app, tmp / "main")
    fresh_copy(app, tmp / "noenv")


def _copy_and_clone(app: Path, tmp: Path) -> None:
    main = fresh_copy(app, tmp / "main")
    clone(main, tmp / "noenv" / main.name)


def main(argv: list[str]) -> None:
    apps = [Path(a) for a in argv] or sorted(
        p for p in [*ROOT.glob("target_apps/*"), *ROOT.glob("tests/apps/styles/*")] if p.is_dir()
    )
    totals = [0.0, 0.0, 0, 0]
    for app in apps:
        two, one = _best(_two_copies, app), _best(_copy_and_clone, app)
        with tempfile.TemporaryDirectory() as tmp:
            copy = fresh_copy(app, Path(tmp))
            full, rest = _written(copy, shared=False), _written(copy, shared=True)
        totals = [totals[0] + two, totals[1] + one, totals[2] + 2 * full, totals[3] + full + rest]
    print(f"{len(apps)} apps")
    print(f"two copies:      {totals[0] * 1000:8.1f} ms  {totals[2] / 1024:9.1f} KiB written")
    print(f"copy and clone:  {totals[1] * 1000:8.1f} ms  {totals[3] / 1024:9.1f} KiB written")


if __name__ == "__main__":
    main(sys.argv[1:])
