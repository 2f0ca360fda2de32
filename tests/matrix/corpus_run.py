"""Running the plugin over a folder of apps, as a user does, for the matrix tests."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def verify_corpus(corpus: Path, out: Path, *extra: str) -> dict[str, t.Any]:
    """Run the plugin over every target app in a subprocess; return its JSON report."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--posthog-verify",
        "--posthog-app",
        f"{corpus}/*",
        "--posthog-report",
        str(out),
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.exists(), f"no report written:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return t.cast(dict[str, t.Any], json.loads(out.read_text()))


def verdict(report: dict[str, t.Any], app: str, check: str) -> dict[str, t.Any]:
    for entry in report["apps"]:
        if entry["app"] == app:
            for result in entry["checks"]:
                if result["id"] == check:
                    return t.cast(dict[str, t.Any], result)
    raise AssertionError(f"{app}::{check} is not in the report")
