"""Shards judged in separate runs merge into the report one run would write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from target_apps.materialize import app_dir

pytestmark = pytest.mark.slow

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"
APPS = ("reference", "correct_contexts", "broken_pii_tag")


def test_shards_merge_into_the_whole(pytester: pytest.Pytester) -> None:
    apps = [f"--posthog-app={app_dir(app)}" for app in APPS]
    for k in (1, 2):
        pytester.runpytest_subprocess(
            "--posthog-verify", *apps, f"--posthog-shard={k}/2", f"--posthog-report=s{k}.json"
        )
    merged = pytester.path / "all.json"
    subprocess.run(
        [sys.executable, "-m", "harness.report", "merge", "s1.json", "s2.json", "-o", str(merged)],
        cwd=pytester.path,
        check=True,
        capture_output=True,
    )
    report = json.loads(merged.read_text())
    assert sorted(a["app"] for a in report["apps"]) == sorted(APPS)
    assert report["totals"]["overall"]["apps"] == 3
    assert report["totals"]["checks"]["no_pii_in_events"]["fail"] == 1
