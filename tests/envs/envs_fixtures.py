"""Environments the envs tests share (built with --posthog-install's machinery)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.envs import InstallError
from harness.envs import Requirements
from harness.envs import ensure_env

#: The second combination CI verifies the corpus on, with the extensions the
#: corpus's migrations app needs, pinned to releases that support Flask 2.3.
ALT_REQUIREMENTS = (
    "flask==2.3.3",
    "werkzeug==2.3.8",
    "posthog==6.0.0",
    "flask-sqlalchemy==3.1.1",
    "flask-migrate==4.0.7",
    "sqlalchemy==2.0.36",
    "alembic==1.13.3",
)
#: The newest Python, with pytest's own Flask and SDK.
NEWEST_REQUIREMENTS = ("flask==3.1.3", "posthog==7.91.1")
#: Below the supported SDK range (posthog>=6.0,<8).
OLD_SDK_REQUIREMENTS = ("flask==3.1.3", "posthog==5.4.0")


def build(tmp: Path, lines: tuple[str, ...], base: str = sys.executable) -> str:
    """The interpreter of a cached environment for ``lines``; skip (fail in CI)
    when it cannot be built."""
    requirements = Requirements(tmp, "test requirements", lines)
    try:
        return ensure_env(requirements, base).python
    except InstallError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot build an environment with {', '.join(lines)}: {exc}")
