"""Shared test configuration: paths, and hygiene that fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET_APPS = ROOT / "target_apps"


@pytest.fixture(autouse=True)
def _reset_os_environ() -> object:
    """Whatever a test does to the environment is undone after it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
