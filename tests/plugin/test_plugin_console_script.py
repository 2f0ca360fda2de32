"""The ``posthog-verify`` console script: pytest underneath, same exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import _parser
from harness.cli import pytest_args

SCRIPT = Path(sys.executable).parent / "posthog-verify"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), "install the package (pip install -e .) for its console script"
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_arguments_become_the_plugin_options(tmp_path: Path) -> None:
    parsed = _parser().parse_args(
        ["runs/a", "runs/b", "-n", "auto", "--report", "g.json", "--html", "g.html", "--md", "g.md"]
    )
    args = pytest_args(parsed, ["-x"])
    assert args[:3] == ["--posthog-verify", "--posthog-app=runs/a", "--posthog-app=runs/b"]
    for expected in (
        "--posthog-report=g.json",
        "--posthog-report-html=g.html",
        "--posthog-report-md=g.md",
    ):
        assert expected in args
    assert args[-3:] == ["-n", "auto", "-x"]


def test_an_app_that_cannot_be_judged_exits_1_and_writes_every_report(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run(tmp_path, "empty", "--report", "g.json", "--html", "g.html", "--md", "g.md")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout[-2000:]
    assert "No Flask app found in empty." in result.stdout
    report = json.loads((tmp_path / "g.json").read_text())
    assert [app["app"] for app in report["apps"]] == ["empty"]
    assert report["settings"]["apps"] == {"value": ["empty"], "source": "option"}
    assert '<table id="grid">' in (tmp_path / "g.html").read_text()
    assert "could not be judged" in (tmp_path / "g.md").read_text()


def test_no_app_is_a_usage_error_exit_4(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "the following arguments are required: APP" in result.stderr


def test_a_glob_matching_nothing_is_pytests_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "nowhere/*")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "'nowhere/*' matches no folder" in result.stderr


def test_merge_is_the_report_command(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run(tmp_path, "empty", "--report", "one.json")
    result = run(tmp_path, "merge", "one.json", "-o", "all.json", "--md", "all.md")
    assert result.returncode == 0, result.stderr
    assert "merged 1 report (1 app) into all.json" in result.stdout
    assert json.loads((tmp_path / "all.json").read_text())["merged_from"] == ["one.json"]
