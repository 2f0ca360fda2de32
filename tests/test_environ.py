"""The environment is read once, and never walked while pytest changes it.

pytest sets and deletes ``PYTEST_CURRENT_TEST`` from its main thread around
every item while apps are verified in a pool: a walk of ``os.environ`` from a
pool thread then raised ``KeyError: 'PYTEST_CURRENT_TEST'`` and turned a
correct app's 14 checks into ``error`` (and flaked CI).
"""

from __future__ import annotations

import collections.abc
import contextlib
import os
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest

from harness.environ import snapshot
from harness.session import AppEntry
from harness.session import VerifySession
from harness.subject.process import Timeouts
from harness.subject.zygote import warm_up
from harness.verdict import Status
from harness.verify import Options
from harness.verify import base_environ

HEALTHY = Path(__file__).resolve().parent / "apps" / "faulty" / "healthy"


@contextlib.contextmanager
def churning_environ() -> t.Iterator[None]:
    """Another thread sets and deletes variables as fast as it can, with the
    interpreter switching threads as often as it can."""
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            os.environ[f"PYTEST_CHURN_{i % 40}"] = "x"
            os.environ.pop(f"PYTEST_CHURN_{(i + 20) % 40}", None)
            i += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5.0)
        sys.setswitchinterval(interval)


def test_a_snapshot_survives_another_thread_changing_the_environment() -> None:
    with churning_environ():
        # The stress is real: the plain walk the harness used to do breaks.
        broke, deadline = False, time.monotonic() + 10.0
        while not broke and time.monotonic() < deadline:
            try:
                dict(os.environ)
            except (KeyError, RuntimeError):
                broke = True
        assert broke, "the churn never broke a plain walk of os.environ"
        for _ in range(2000):
            env = base_environ(snapshot())
            assert "PATH" in env
            assert not any(name.startswith("PYTEST_") for name in env)


class _WalkedFromAThread(collections.abc.MutableMapping[str, str]):
    """``os.environ`` as a pool thread sees it while pytest changes it: any
    walk from a thread other than the main one fails as the race did. Single
    reads and writes (atomic under the interpreter lock) pass through."""

    def __init__(self, real: os._Environ[str]) -> None:
        self.real = real
        self.walked_from: list[str] = []

    def _walk(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.walked_from.append(threading.current_thread().name)
            raise KeyError("PYTEST_CURRENT_TEST")

    def __getitem__(self, key: str) -> str:
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        del self.real[key]

    def __iter__(self) -> t.Iterator[str]:
        self._walk()
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def copy(self) -> dict[str, str]:
        self._walk()
        return dict(self.real)

    def __getattr__(self, name: str) -> t.Any:  # _data, decodekey: what snapshot() reads
        return getattr(self.real, name)


@pytest.mark.slow
def test_no_pool_thread_walks_the_environment_while_apps_are_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    racy = _WalkedFromAThread(os.environ)
    monkeypatch.setattr(os, "environ", racy)
    options = Options(timeouts=Timeouts(boot_s=20.0, request_s=10.0, stop_s=20.0))
    session = VerifySession([AppEntry("healthy", HEALTHY, 0)], options, concurrency=2)
    try:
        warm_up(options.server)
        outcome = session.outcome(session.entries[0])
    finally:
        session.close()
    errors = {c: r.summary for c, r in outcome.results.items() if r.status is Status.ERROR}
    assert errors == {}
    assert racy.walked_from == []
