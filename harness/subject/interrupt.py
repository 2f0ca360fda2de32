"""An interrupted run ends within seconds, leaving no app process and no workspace.

pytest turns Ctrl-C into ``KeyboardInterrupt``; SIGTERM (what CI runners and
``timeout`` send) would kill it outright, skipping every cleanup, so in verify
mode it becomes ``KeyboardInterrupt`` too, once: a second signal during the
cleanup is ignored rather than cutting the cleanup short. An xdist
controller passes the interrupt on to its workers at once (SIGTERM), instead
of waiting for them to notice; a worker also gets SIGTERM when its controller
dies, however that happens (``PR_SET_PDEATHSIG``). Each process's
``pytest_keyboard_interrupt`` then ends its apps
(:func:`harness.subject.process.interrupt_all`)::

    arm(worker=True, controller=False)   # in pytest_configure, verify mode only
    ...
    disarm()                # in pytest_unconfigure
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import typing as t

from harness.subject.sandbox import children_of

_PR_SET_PDEATHSIG = 1
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Handler:
    """Raise KeyboardInterrupt on the first signal, ignore the rest; a
    controller first passes SIGTERM to its children (the xdist workers)."""

    def __init__(self, controller: bool) -> None:
        self.controller = controller
        self.fired = False
        self.previous: dict[int, t.Any] = {}

    def __call__(self, signum: int, frame: t.Any) -> None:
        if self.fired:
            return
        self.fired = True
        if self.controller:
            for child in children_of(os.getpid()):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child, signal.SIGTERM)
        raise KeyboardInterrupt(f"posthog-verify: signal {signal.Signals(signum).name}")


_armed: _Handler | None = None


def arm(*, worker: bool, controller: bool) -> None:
    """Install the handler for SIGINT and SIGTERM (main thread only)."""
    global _armed
    if threading.current_thread() is not threading.main_thread() or _armed is not None:
        return
    _armed = _Handler(controller)
    for sig in _SIGNALS:
        _armed.previous[sig] = signal.signal(sig, _armed)
    if worker and sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def disarm() -> None:
    """Put back the handlers :func:`arm` replaced."""
    global _armed
    if _armed is not None and threading.current_thread() is threading.main_thread():
        for sig, previous in _armed.previous.items():
            signal.signal(sig, previous)
        _armed = None
