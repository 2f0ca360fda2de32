"""Every command in the README's sh blocks works exactly as written from the repo
root (pytest ones collect; the console script's and the merges run)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = []
    for block in blocks:
        parts = [part for line in block.splitlines() for part in line.split("&&")]
        for line in parts:
            line = line.split("  #")[0].strip()
            if line.startswith(("pytest --posthog-verify", "python -m pytest --posthog-verify")):
                commands.append(line)
            elif line.startswith("posthog-verify") and "/reports/" not in line:
                commands.append(line)  # the Kubernetes merge reads the Job's volume
    return commands


def test_the_readme_has_the_commands_this_test_runs() -> None:
    commands = readme_commands()
    assert "python -m pytest --posthog-verify --posthog-app=target_apps/reference" in commands
    assert any(c.startswith("posthog-verify merge") for c in commands)
    assert len(commands) >= 6


@pytest.mark.slow
def test_every_readme_command_works_from_the_repo_root() -> None:
    out = ROOT / "out"
    existed = out.exists()
    try:
        for command in readme_commands():
            args = shlex.split(command)
            if args[0] == "python":
                args[0] = sys.executable
            elif args[0] == "pytest":
                args = [sys.executable, "-m", "pytest", *args[1:]]
            else:
                args[0] = str(BIN / args[0])
            is_merge = args[1] == "merge"
            if not is_merge:  # collect only: a run of every target app takes minutes
                args += (
                    ["--collect-only", "-q"] if "pytest" in args[:3] else ["--", "--collect-only"]
                )
            done = subprocess.run(
                args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
            )
            assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            if not is_merge:
                assert "tests collected" in done.stdout or "test collected" in done.stdout, command
                # the rootdir stays the repo, not the app's folder
                assert "rootdir: " not in done.stdout or f"rootdir: {ROOT}\n" in done.stdout
    finally:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
