"""Second combinations of Flask and posthog, built once with --posthog-install's machinery.

``alt_python`` is an interpreter with Flask 2.3 and the oldest supported SDK
(posthog 6.0.0); ``old_sdk_python`` one with an SDK below the range (5.4.0).
They are cached (:func:`harness.envs.cache_root`), so only the first run
downloads. Where no package index is reachable they cannot be built: the tests
that need them skip, saying so, except under CI (``.ci/run``), where that is a
failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.envs import InstallError
from harness.envs import Requirements
from harness.envs import ensure_env

#: The second combination CI verifies the corpus on.
ALT_REQUIREMENTS = ("flask==2.3.3", "werkzeug==2.3.8", "posthog==6.0.0")
#: Below the supported SDK range (posthog>=6.0,<8).
OLD_SDK_REQUIREMENTS = ("flask==3.1.3", "posthog==5.4.0")


def build(tmp: Path, lines: tuple[str, ...]) -> str:
    """The interpreter of a cached environment for ``lines``; skip (fail in CI)
    when it cannot be built."""
    requirements = Requirements(tmp, "test requirements", lines)
    try:
        return ensure_env(requirements, sys.executable).python
    except InstallError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot build an environment with {', '.join(lines)}: {exc}")


@pytest.fixture(scope="session")
def alt_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(tmp_path_factory.mktemp("alt"), ALT_REQUIREMENTS)


@pytest.fixture(scope="session")
def old_sdk_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(tmp_path_factory.mktemp("old"), OLD_SDK_REQUIREMENTS)


@pytest.fixture(params=["default", "alt"])
def any_python(request: pytest.FixtureRequest) -> str:
    """pytest's own interpreter, then the second combination."""
    if request.param == "default":
        return sys.executable
    return str(request.getfixturevalue("alt_python"))
