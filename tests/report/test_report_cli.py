"""``python -m harness.report``: run as users run it, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness.report import AppReport
from harness.report import build_report
from harness.report import load_report
from harness.report import write_report

ROOT = Path(harness.__file__).resolve().parent.parent


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "harness.report", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def shards(tmp_path: Path, mixed_apps: list[AppReport], versions) -> list[Path]:
    paths = [tmp_path / "in" / "shard-1.json", tmp_path / "in" / "shard-2.json"]
    write_report(build_report(mixed_apps[:2], versions=versions, shard=(1, 2)), paths[0])
    write_report(build_report(mixed_apps[2:], versions=versions, shard=(2, 2)), paths[1])
    return paths


def test_merge_writes_the_report_and_the_markdown(tmp_path: Path, shards: list[Path]) -> None:
    out, md = tmp_path / "out" / "all.json", tmp_path / "out" / "all.md"
    done = run_cli("merge", *shards, "-o", out, "--md", md, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"merged 2 reports (3 apps) into {out}\n"
    merged = load_report(out)
    assert merged["merged_from"] == ["shard-1.json", "shard-2.json"]
    assert [app["app"] for app in merged["apps"]] == ["good", "leaky", "hung"]
    assert md.read_text().startswith("## posthog-verify: 1 of 3 apps pass\n")


def test_bad_json_exits_2_naming_the_file(tmp_path: Path, shards: list[Path]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    done = run_cli("merge", shards[0], broken, "-o", tmp_path / "all.json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"python -m harness.report: error: {broken}: not a posthog-verify report: invalid JSON"
    )
    assert not (tmp_path / "all.json").exists()


def test_duplicate_app_exits_2_naming_both_files(tmp_path: Path, shards: list[Path]) -> None:
    copy = tmp_path / "copy.json"
    copy.write_text(shards[0].read_text())
    done = run_cli("merge", shards[0], copy, "-o", tmp_path / "all.json", "--allow-partial",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "app path 'apps/good' is in both shard-1.json and copy.json" in done.stderr


def test_missing_shard_exits_2_and_allow_partial_merges(tmp_path: Path, shards) -> None:
    done = run_cli("merge", shards[0], "-o", tmp_path / "all.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "shard(s) 2/2 missing" in done.stderr
    done = run_cli("merge", shards[0], "-o", tmp_path / "all.json", "--allow-partial",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "all.json").read_text())["totals"]["overall"]["apps"] == 2


def test_usage_errors_exit_2(tmp_path: Path, shards: list[Path]) -> None:
    done = run_cli("merge", *shards, cwd=tmp_path)
    assert done.returncode == 2
    assert "the following arguments are required: -o/--output" in done.stderr


def test_markdown_to_stdout(tmp_path: Path, shards: list[Path]) -> None:
    done = run_cli("markdown", shards[0], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("## posthog-verify: 1 of 2 apps pass\n")
    assert "shard 1/2" in done.stdout


def test_html_command_and_merge_html(tmp_path: Path, make_app, versions) -> None:
    from harness.report.__main__ import main

    source = tmp_path / "one.json"
    write_report(build_report([make_app("shop")], versions=versions), source)
    assert main(["html", str(source), "-o", str(tmp_path / "one.html")]) == 0
    assert '<table id="grid">' in (tmp_path / "one.html").read_text()
    merged = tmp_path / "all.json"
    html = tmp_path / "all.html"
    assert main(["merge", str(source), "-o", str(merged), "--html", str(html)]) == 0
    assert ">shop<" in html.read_text()
