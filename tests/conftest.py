"""Shared test configuration: paths, and hygiene that fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _children_are_not_xdist_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pytest a test starts runs on its own, not as this xdist worker:
    it must not inherit the worker's PYTEST_XDIST_* variables. pytest-benchmark,
    where the environment has it, reads PYTEST_XDIST_WORKER and warns in such a
    child, which ends it in an INTERNALERROR."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


ROOT = Path(__file__).resolve().parent.parent
TARGET_APPS = ROOT / "target_apps"


@pytest.fixture(autouse=True)
def _reset_os_environ() -> object:
    """Whatever a test does to the environment is undone after it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
