"""Second combinations of Flask and posthog, built once with --posthog-install's machinery.

``alt_python`` is an interpreter with Flask 2.3 and the oldest supported SDK
(posthog 6.0.0); ``old_sdk_python`` one with an SDK below the range (5.4.0).
They are cached (:func:`harness.envs.cache_root`), so only the first run
downloads. Where no package index is reachable they cannot be built: the tests
that need them skip, saying so, except under CI (``.ci/run``), where that is a
failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from envs_fixtures import ALT_REQUIREMENTS
from envs_fixtures import NEWEST_REQUIREMENTS
from envs_fixtures import OLD_SDK_REQUIREMENTS
from envs_fixtures import build


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


@pytest.fixture(scope="session")
def newest_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Python 3.13 with pytest's own Flask and SDK, where a 3.13 is installed
    (pyenv's own builds first: its shims answer only for the selected version)."""
    found = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    if not found:
        pytest.skip("no Python 3.13 installed (pyenv) to build the app's environment from")
    return build(tmp_path_factory.mktemp("py313"), NEWEST_REQUIREMENTS, str(found[-1]))
