"""Fixtures for pytester tests of the plugin surface."""

from __future__ import annotations

from pathlib import Path

import pytest

from target_apps.materialize import app_dir


@pytest.fixture
def reference_app() -> Path:
    return app_dir("reference")


@pytest.fixture
def broken_app() -> Path:
    """An app whose one defect is an email in every event's properties."""
    return app_dir("broken_pii_tag")
