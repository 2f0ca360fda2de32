"""The parent side of a served app: spawn, wait for ready, read records, stop.

An app under judgement is untrusted, so it runs in its own process group
(``python -m harness.serve``, see :mod:`harness.serve`) that the harness can
always kill at a deadline::

    with AppProcess(workdir, "app:create_app", env, log_path, probe_token="p1") as proc:
        url = proc.start()            # BootError if it fails or hangs
        ...                           # drive it over HTTP
        observations = proc.records()
        outcome = proc.stop()         # SIGTERM, then SIGKILL past the deadline

Children are forked from a pre-imported zygote (:mod:`harness.subject.zygote`)
where ``os.fork`` exists, else spawned; ``POSTHOG_VERIFY_LAUNCHER=spawn|fork``
picks explicitly. gunicorn is always spawned: its arbiter forks workers and
owns the signals, which a forked child's state would only complicate.

With ``isolate=True`` the child runs in network and PID namespaces of its own
(:mod:`harness.subject.sandbox`): its listening socket is bound before the
switch, and ``mock`` names the loopback port and Unix socket that lead to the
mock from inside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

from harness.run import BootFailure
from harness.run import Phase
from harness.run import ProcessOutcome
from harness.serve import READY_PREFIX
from harness.subject.interpreter import app_side_root
from harness.subject.interpreter import is_default
from harness.subject.interpreter import zygote_for
from harness.subject.observations import Observations
from harness.subject.observations import read_log
from harness.subject.sandbox import MockRoute
from harness.subject.sandbox import kill_tree
from harness.subject.sandbox import launcher_command
from harness.subject.zygote import ForkedChild
from harness.subject.zygote import ZygoteUnavailable
from harness.subject.zygote import shared_zygote
from harness.subject.zygote import wanted_launcher

if t.TYPE_CHECKING:
    from collections.abc import Mapping

_TAIL_CHARS = 4000
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """Deadlines, in seconds, for the phases of a served app's life."""

    boot_s: float = 10.0
    request_s: float = 5.0
    stop_s: float = 10.0


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C, SIGTERM): no app starts any more."""


# Every app process that may still run, so an interrupt can end them all at
# once (:func:`interrupt_all`) instead of waiting on each one's deadlines.
_live: set[AppProcess] = set()
_live_lock = threading.Lock()
_interrupted = threading.Event()


def interrupt_all() -> None:
    """End every app process of this pytest process now, and refuse new ones.

    Called on Ctrl-C or SIGTERM: each verification still running then finds
    its app dead at once and unwinds (its workspace removed) within seconds.
    """
    _interrupted.set()
    with _live_lock:
        running = list(_live)
    for proc in running:
        proc.kill_now()


class BootError(Exception):
    """The app did not become ready: ``failure`` says why and in which phase;
    ``outcome`` is how its process ended (it is dead when this is raised)."""

    def __init__(self, failure: BootFailure, outcome: ProcessOutcome) -> None:
        super().__init__(f"{failure.phase.value}: {failure.cause}")
        self.failure = failure
        self.outcome = outcome


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - _TAIL_CHARS))
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


class AppProcess:
    """One served app in a child process.

    :param workdir: the app's fresh workspace (:func:`harness.subject.workspace.fresh_copy`);
        the child's working directory. Its stdout and stderr go to files next to it.
    :param target: ``module:attr`` of the Flask app or factory.
    :param env: the child's whole environment (PostHog variables and
        ``POSTHOG_VERIFY_MOCK_URL`` included); ``PYTHONPATH`` gains a folder
        holding only ``harness`` (:func:`~harness.subject.interpreter.app_side_root`)
        so it imports without being installed, and nothing else of pytest's.
    :param log_path: the JSON-lines observation log the child appends to.
    :param python: the app's interpreter (``--posthog-python``); None is
        pytest's own. Each interpreter has its own zygote
        (:func:`~harness.subject.interpreter.zygote_for`).
    :param isolate: run it in namespaces of its own (see the module docstring).
    :param mock: where the mock URL leads from inside those namespaces.
    :param contain: without namespaces, still end what it leaves behind: a
        spawned child runs under a subreaper supervisor
        (:func:`harness.subject.sandbox.contain`); a forked one has the zygote.
    """

    def __init__(
        self,
        workdir: Path,
        target: str,
        env: Mapping[str, str],
        log_path: Path,
        *,
        server: str = "werkzeug",
        probe_token: str = "",
        timeouts: Timeouts = Timeouts(),  # frozen: sharing the default is safe
        python: str | None = None,
        server_args: tuple[str, ...] = (),
        isolate: bool = False,
        mock: MockRoute | None = None,
        contain: bool = False,
    ) -> None:
        self.python = python or sys.executable
        self.server_args = server_args  # --workers N ... (harness.subject.production)
        self.workdir = Path(workdir)
        self.target = target
        self.env = dict(env)
        self.log_path = Path(log_path)
        self.server = server
        self.probe_token = probe_token
        self.timeouts = timeouts
        self.isolate = isolate
        self.mock = mock
        self.contain = contain
        stem = self.log_path.stem
        self.stdout_path = self.workdir.parent / f"{stem}.stdout.log"
        self.stderr_path = self.workdir.parent / f"{stem}.stderr.log"
        self.url: str | None = None
        self.boot_duration_s: float | None = None
        self.launcher: str | None = None  # "fork" or "spawn", once started
        self._proc: subprocess.Popen[bytes] | ForkedChild | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None
        self._outcome: ProcessOutcome | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def command(self) -> list[str]:
        return [
            *(self.python, "-m", "harness.serve"),
            *("--target", self.target, "--log", str(self.log_path)),
            *("--server", self.server, "--probe-token", self.probe_token),
            *self.server_args,
        ]

    def _child_env(self) -> dict[str, str]:
        env = dict(self.env)
        root = str(app_side_root())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        return env

    def start(self) -> str:
        """Launch the child and wait, up to ``timeouts.boot_s``, for its READY
        line. :raises BootError: it exited or hung first (then it is killed)."""
        if _interrupted.is_set():
            raise Interrupted("the run was interrupted: no app starts any more")
        started = time.monotonic()
        with _live_lock:
            _live.add(self)
        child = self._fork() if wanted_launcher(self.server) == "fork" else None
        if child is not None:
            self.launcher, self._proc = "fork", child
            if _interrupted.is_set():  # it came after the interrupt's sweep
                self.kill_now()
            self.url = child.wait_ready(self.timeouts.boot_s)
        else:
            self.launcher = "spawn"
            self._spawn()
            if _interrupted.is_set():  # it came after the interrupt's sweep
                self.kill_now()
            self._ready.wait(self.timeouts.boot_s)
        if self.url is None:
            raise self._boot_error()
        self.boot_duration_s = time.monotonic() - started
        return self.url

    def _fork(self) -> ForkedChild | None:
        """Fork the child from the zygote; None (logged) when it is unavailable."""
        zygote = shared_zygote() if is_default(self.python) else zygote_for(self.python)
        if zygote is None:
            return None
        argv = self.command()[3:]
        sandbox = None
        if self.isolate:
            sandbox = {"port": self.mock.port, "unix": self.mock.unix_path} if self.mock else {}
        try:
            return zygote.spawn(
                argv, self.workdir, self._child_env(), self.stdout_path, self.stderr_path, sandbox
            )
        except ZygoteUnavailable as exc:
            logger.warning("posthog-verify: spawning %s instead of forking: %s", self.target, exc)
            return None

    def _spawn(self) -> None:
        command = self.command()
        if self.isolate:
            command = launcher_command(command, self.mock, listen=True)
        elif self.contain:
            command = launcher_command(command, None, listen=False, contain_only=True)
        with self.stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self._child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,  # its own group: kill it and all it spawned
            )
        self._reader = threading.Thread(target=self._read_stdout, name="posthog-verify-stdout")
        self._reader.daemon = True
        self._reader.start()

    def _read_stdout(self) -> None:
        """Copy the child's stdout to a file; set ``ready`` on the READY line or EOF."""
        assert isinstance(self._proc, subprocess.Popen)
        assert self._proc.stdout is not None
        with self._proc.stdout, self.stdout_path.open("wb") as out:
            for line in self._proc.stdout:
                out.write(line)
                out.flush()
                text = line.decode("utf-8", "replace").strip()
                if self.url is None and text.startswith(READY_PREFIX + " "):
                    self.url = text.split(" ", 1)[1]
                    self._ready.set()
        self._ready.set()

    def _boot_error(self) -> BootError:
        timed_out = self._proc is not None and self._proc.poll() is None
        if timed_out:
            self._kill()
        outcome = self._finish(
            f"SIGKILL after boot timeout ({self.timeouts.boot_s:g} s)" if timed_out else None, None
        )
        observations = self.records()
        if observations.boot_failure is not None:
            return BootError(observations.boot_failure, outcome)
        phase = Phase.BOOT if observations.imported else Phase.IMPORT
        if timed_out:
            where = "building the app" if observations.imported else "importing the app's module"
            cause = f"not ready within {self.timeouts.boot_s:g} s: hung while {where}"
        else:
            cause = f"the app's process exited with code {outcome.exit_code} before it was ready"
        return BootError(BootFailure(phase, cause, False, outcome.stderr_tail), outcome)

    def wait_exit(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` for the child to exit on its own; its exit
        code, or None if it is still running."""
        if self._proc is None:
            raise RuntimeError("AppProcess.wait_exit() before start()")
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def records(self) -> Observations:
        """What the child recorded so far (safe while it runs)."""
        return read_log(self.log_path)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> ProcessOutcome:
        """Send ``sig`` and wait ``timeouts.stop_s`` for a clean exit; past it,
        SIGKILL the whole group, and say so in the outcome."""
        if self._outcome is not None:
            return self._outcome
        if self._proc is None:
            raise RuntimeError("AppProcess.stop() before start()")
        if self._proc.poll() is not None:
            return self._finish(None, None)
        started = time.monotonic()
        try:
            os.kill(self._proc.pid, sig)
        except ProcessLookupError:
            # It ended on its own after poll(): a forked child is reaped by the
            # zygote, whose exit report may still be on its way. Wait for it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(self.timeouts.stop_s)
            return self._finish(None, None)
        label = sig.name
        try:
            self._proc.wait(self.timeouts.stop_s)
        except subprocess.TimeoutExpired:
            self._kill()
            label = f"SIGKILL after {sig.name} timeout ({self.timeouts.stop_s:g} s)"
        return self._finish(label, time.monotonic() - started)

    def kill_now(self) -> None:
        """SIGKILL its whole tree now (any thread); the thread that owns it
        sees it dead and finishes as usual."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            kill_tree(proc.pid)

    def _kill(self) -> None:
        assert self._proc is not None
        kill_tree(self._proc.pid)
        self._proc.wait()

    def _finish(self, stop_signal: str | None, duration: float | None) -> ProcessOutcome:
        """Reap the child, kill whatever is left of its group, build the outcome."""
        assert self._proc is not None
        exit_code = self._proc.wait()
        with _live_lock:
            _live.discard(self)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)  # stray grandchildren
        if self._reader is not None:
            self._reader.join(2.0)
        self._outcome = ProcessOutcome(
            pid=self._proc.pid,
            exit_code=exit_code,
            stop_signal=stop_signal,
            stop_duration_s=duration,
            stdout_tail=_tail(self.stdout_path),
            stderr_tail=_tail(self.stderr_path),
            server=self.server,
        )
        return self._outcome

    @property
    def outcome(self) -> ProcessOutcome | None:
        """Set once the process has been stopped or has died and been reaped."""
        return self._outcome

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._proc is not None and self._outcome is None:
            if self._proc.poll() is None:
                self._kill()
            self._finish("SIGKILL on context exit", None)
