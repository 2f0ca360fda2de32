"""Fixtures for tests/subject."""

from __future__ import annotations

import typing as t

import pytest

from harness.capture import CaptureServer


@pytest.fixture
def mock() -> t.Iterator[CaptureServer]:
    """A loopback capture server for one test."""
    with CaptureServer() as server:
        yield server
