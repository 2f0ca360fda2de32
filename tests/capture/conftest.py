"""Shared fixtures for the capture layer's tests: both front ends, one shape.

``frontend`` yields a :class:`Frontend` whose ``host`` is what an SDK client
is given and whose ``store`` receives what it sends, for the in-process
``responses`` mock and the loopback server alike.
"""

from __future__ import annotations

import dataclasses
import tempfile
import typing as t

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from harness.capture import CaptureServer
from harness.capture import CaptureStore
from harness.capture import intercept

# Hypothesis writes caches under ./.hypothesis, and pyproject's norecursedirs
# (which replaces pytest's defaults) makes its plugin warn about that folder,
# an error under filterwarnings=error: keep its caches out of the checkout.
set_hypothesis_home_dir(tempfile.gettempdir() + "/posthog-verify-hypothesis")


@dataclasses.dataclass(frozen=True)
class Frontend:
    name: str
    host: str
    store: CaptureStore


@pytest.fixture(params=["in_process", "server"])
def frontend(request: pytest.FixtureRequest) -> t.Iterator[Frontend]:
    if request.param == "in_process":
        with intercept() as mock:
            yield Frontend("in_process", "https://us.i.posthog.com", mock.store)
            mock.store.check()
    else:
        with CaptureServer() as server:
            yield Frontend("server", server.url, server.store)
            server.store.check()


@pytest.fixture
def server() -> t.Iterator[CaptureServer]:
    with CaptureServer(read_timeout=2.0) as srv:
        yield srv
