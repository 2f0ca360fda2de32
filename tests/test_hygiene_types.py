"""The harness type-checks under ``mypy --strict``: a type error fails the suite.

Runs mypy as CI would, ``python -m mypy`` from the repo root, so what is
checked (``harness``) and how (strict, Python 3.11, the third-party overrides)
comes from ``[tool.mypy]`` in pyproject.toml. To reproduce a failure::

    python -m mypy
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of the session's own: a stale or concurrently written
    ``.mypy_cache`` in the checkout cannot change the outcome."""
    return tmp_path_factory.mktemp("mypy_cache")


def test_mypy_config_is_strict_on_the_harness() -> None:
    """Without this, dropping ``strict`` (or the target) would keep the run below green."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert config["files"] == ["harness"]


@pytest.mark.slow
def test_mypy_strict_passes_on_the_harness(mypy_cache: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(mypy_cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mypy exited {proc.returncode}:\n{output}"
    assert "Success: no issues found" in output, output
