"""Helpers for tests that serve the faulty apps in child processes."""

from __future__ import annotations

import os
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

from harness.subject.process import AppProcess
from harness.subject.process import Timeouts
from harness.subject.workspace import fresh_copy

if t.TYPE_CHECKING:
    from harness.capture import CaptureServer

FAULTY = Path(__file__).resolve().parent.parent / "apps" / "faulty"
#: Deadlines for a boot, request or stop that should succeed: bounds, not
#: timings (each wait returns as soon as its condition holds), so wide enough
#: for a loaded machine, where a 3 s boot deadline cut healthy gunicorn boots
#: short (about 1.5 s for one worker on an idle 2-core machine, several times
#: that at a load average of 30).
SERVE = Timeouts(boot_s=60.0, request_s=15.0, stop_s=30.0)
#: Deadlines that are what a test is about: a hang is cut at them.
SHORT = Timeouts(boot_s=3.0, request_s=2.0, stop_s=3.0)


def make_process(
    name: str,
    target: str,
    tmp_path: Path,
    mock: CaptureServer,
    extra_env: dict[str, str] | None = None,
    **kwargs: t.Any,
) -> AppProcess:
    """An AppProcess for ``tests/apps/faulty/<name>`` pointed at ``mock``."""
    workdir = fresh_copy(FAULTY / name, tmp_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "POSTHOG_API_KEY": "phc_test_process",
        "POSTHOG_HOST": mock.url,
        "POSTHOG_VERIFY_MOCK_URL": mock.url,
        **(extra_env or {}),
    }
    kwargs.setdefault("timeouts", SERVE)
    return AppProcess(workdir, target, env, tmp_path / "log.jsonl", probe_token="t1", **kwargs)


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """Status and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
