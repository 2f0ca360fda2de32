"""Fixtures for pytester tests of the plugin surface."""

from __future__ import annotations

from pathlib import Path

import pytest

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"


@pytest.fixture
def reference_app() -> Path:
    return TARGET_APPS / "reference"


@pytest.fixture
def broken_app() -> Path:
    """An app whose one defect is an email in every event's properties."""
    return TARGET_APPS / "broken_pii_tag"
