"""Under xdist an app's checks stay on one worker: it is booted once, not once per worker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from target_apps.materialize import app_dir

pytestmark = pytest.mark.slow

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"
APPS = ("reference", "correct_contexts", "correct_flask_integration", "correct_module_level")


def test_each_apps_items_run_on_a_single_worker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        *(f"--posthog-app={app_dir(app)}" for app in APPS),
        "-n",
        "2",
        "-v",
    )
    workers: dict[str, set[str]] = {}
    for line in result.outlines:
        match = re.match(r"\[(gw\d+)\] .* (\w+)::\w+", line)
        if match:
            workers.setdefault(match[2], set()).add(match[1])
    assert set(workers) == set(APPS), result.stdout.str()[-2000:]
    assert all(len(seen) == 1 for seen in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # both workers got apps
