"""The benchmark runs, in a reduced form, so it cannot rot; no time is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_benchmark_runs_in_reduced_form() -> None:
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--apps", "1,3", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sections = ("1. floor", "2. one app", "3. 1, 3 copies", "per additional app", "4. peak memory")
    for section in (*sections, "-n 2 gw1"):
        assert section in proc.stdout, proc.stdout
