"""A pytest plugin the benchmark loads: each process writes its peak RSS.

The file is named after the xdist worker (``gw0``...) or ``main``, in the
folder named by ``BENCH_RSS_DIR``.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = os.environ.get("BENCH_RSS_DIR")
    if not folder:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    (Path(folder) / worker).write_text(str(peak_kib))
