"""Items: one per (app, check), with ids pytest's selection flags understand."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import CHECK_IDS


def test_one_item_per_check_with_readable_ids(
    pytester: pytest.Pytester, reference_app: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--posthog-verify", "--posthog-app", str(reference_app), "--collect-only", "-q"
    )
    result.stdout.fnmatch_lines([f"reference::{check}" for check in CHECK_IDS])


def test_k_selects_checks(pytester: pytest.Pytester, reference_app: Path) -> None:
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        "--posthog-app",
        str(reference_app),
        "--collect-only",
        "-q",
        "-k",
        "identify",
    )
    result.stdout.fnmatch_lines(
        [
            "reference::identify_on_signup",
            "reference::identify_on_login",
            f"*2/{len(CHECK_IDS)} tests collected*",
        ]
    )


def test_shards_split_the_apps_without_overlap(pytester: pytest.Pytester) -> None:
    apps = Path(__file__).resolve().parents[2] / "target_apps"
    seen: list[set[str]] = []
    for shard in ("1/2", "2/2"):
        result = pytester.runpytest_subprocess(
            "--posthog-verify",
            "--posthog-app",
            str(apps / "*"),
            "--posthog-shard",
            shard,
            "--collect-only",
            "-q",
        )
        seen.append({line.split("::")[0] for line in result.outlines if "::" in line})
    everything = {p.name for p in apps.iterdir() if (p / "requirements.txt").exists()}
    assert seen[0]
    assert seen[1]
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == everything


def test_runs_without_xdist_under_strict_markers(
    pytester: pytest.Pytester, reference_app: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={reference_app}",
        "-p",
        "no:xdist",
        "--strict-markers",
        "-k",
        "boots",
    )
    result.assert_outcomes(passed=2)
