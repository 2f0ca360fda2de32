"""Integrations in styles the corpus does not cover get the verdicts they deserve.

Every check passes on the correct ones, whatever their shape; the one broken
app is caught, as a warning, because its own timing can hide the loss.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from harness.checks import CHECK_IDS

pytestmark = pytest.mark.slow

STYLES = Path(__file__).resolve().parents[1] / "apps" / "styles"

# Verdicts other than pass, per app; every other check must pass.
NOT_PASSING: dict[str, dict[str, str]] = {
    "flaskr_tutorial": {},
    "single_file_json": {},
    "src_layout_extension": {},
    "contexts_in_views": {},
    "prefixed_env": {},
    # Nothing registered to flush at exit; events made it only through the
    # SDK's own exit budget or because little was queued: never a pass.
    "broken_no_shutdown_fast_flush": {"flush_on_shutdown": "warn"},
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    out = tmp_path_factory.mktemp("styles") / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--posthog-verify",
            f"--posthog-app={STYLES / '*'}",
            f"--posthog-report={out}",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    return t.cast(dict[str, t.Any], json.loads(out.read_text()))


def test_every_style_app_is_listed() -> None:
    assert {p.name for p in STYLES.iterdir() if p.is_dir()} == set(NOT_PASSING)


@pytest.mark.parametrize("app", sorted(NOT_PASSING))
def test_style_verdicts(report: dict[str, t.Any], app: str) -> None:
    entry = next(a for a in report["apps"] if a["app"] == app)
    got = {c["id"]: c["status"] for c in entry["checks"]}
    expected = {check: NOT_PASSING[app].get(check, "pass") for check in CHECK_IDS}
    assert got == expected, json.dumps(entry["checks"], indent=1)[:4000]
