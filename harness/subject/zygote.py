"""A pre-imported launcher that forks one served app per request.

Spawning ``python -m harness.serve`` costs an interpreter start plus importing
flask, posthog, werkzeug and requests (about 0.3 s of CPU) for every app,
twice per app. The zygote pays that once per pytest process: it imports them,
then forks a child per app, and the child runs :func:`harness.serve.main` and
ends with a normal interpreter exit (atexit handlers, thread joins, flushes),
unlike ``multiprocessing``'s forkserver children, which end with ``os._exit``::

    zygote = shared_zygote()              # None: use a plain subprocess instead
    child = zygote.spawn(argv, cwd, env, stdout_path, stderr_path)
    url = child.wait_ready(10.0)          # None: it exited or hung first
    os.kill(child.pid, signal.SIGTERM)
    child.wait(10.0)                      # its exit code, like Popen.wait

The zygote (``python -m harness.subject.zygote``) has no threads, so forking it
is safe; it talks JSON lines over its stdin/stdout: requests
``{"id", "argv", "cwd", "env", "stdout", "stderr", "sandbox"}`` (``sandbox``:
None, or ``{"port", "unix"}`` of the mock route, ``port`` 0 for none: the
child then enters :func:`harness.subject.sandbox.enter`), replies ``{"id", "pid"}``
or ``{"id", "error"}``, events ``{"ready": pid, "url"}`` (written by the child
itself) and ``{"exit": pid, "code"}`` (negative for a signal, like Popen). It
exits, killing its children's groups, when its stdin closes.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

from harness.environ import snapshot

logger = logging.getLogger(__name__)

#: Imported once in the zygote and shared by every child; never app code.
PRELOAD = (
    "flask",
    "posthog",
    "posthog.client",
    "requests",
    "werkzeug.serving",
    "harness.serve",
    "harness.subject.outbound",
    "harness.subject.sandbox",
)
#: Preloaded too where the interpreter has them: what nearly every boot imports
#: after the fork otherwise (the instrumentation patches python-dotenv; most
#: apps open SQLite; requests reads netrc), none of it app code.
OPTIONAL_PRELOAD = ("dotenv", "sqlite3", "netrc")
_HELLO_TIMEOUT_S = 15.0
_REPLY_TIMEOUT_S = 10.0
_ORPHAN_POLL_S = 0.05
_PR_SET_CHILD_SUBREAPER = 36

# -- the zygote process -------------------------------------------------------


def _libc_prctl(option: int, value: int) -> None:
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _send(fd: int, message: dict[str, t.Any]) -> None:
    # One write per line, under PIPE_BUF: lines from the zygote and its
    # children (their READY) never interleave.
    os.write(fd, (json.dumps(message) + "\n").encode())


def _exit_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _reap(ctl_out: int, children: dict[int, str]) -> None:
    """Reap what exited: an app is reported, and whatever it left behind (an
    orphan re-parented here, see :func:`_end_orphans`) is ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in children:
            continue  # an orphan ended (see _end_orphans)
        cwd = children.pop(pid)
        _send(ctl_out, {"exit": pid, "code": _exit_code(status)})
        if cwd:  # a sandboxed app ("") has a PID namespace: nothing of it is left
            _end_orphans(children, cwd)


def _end_orphans(children: dict[int, str], cwd: str | None) -> None:
    """SIGKILL the orphans an app left (working in its workspace ``cwd``, or
    any, for None). The zygote is a child subreaper: a grandchild that escaped
    its app's process group with ``setsid()`` is re-parented here, not to
    init, so it ends with its app even without a PID namespace."""
    from harness.subject.sandbox import children_of

    for pid in children_of(os.getpid()):
        if pid in children:
            continue
        with contextlib.suppress(OSError):
            where = str(Path(f"/proc/{pid}/cwd").readlink())
            if cwd is None or where == cwd or where.startswith(cwd.rstrip("/") + "/"):
                os.kill(pid, signal.SIGKILL)


def _kill_all(ctl_out: int, children: dict[int, str]) -> None:
    """The harness is gone (or closing): kill every child's group, reap it."""
    for pid in children:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(OSError):  # EPIPE: nobody reads the report any more
            _, status = os.waitpid(pid, 0)
            _send(ctl_out, {"exit": pid, "code": _exit_code(status)})
    _end_orphans({}, None)


def _fork(request: dict[str, t.Any]) -> int:
    """Fork; in the parent, wait until the child leads its own session, so the
    harness can ``killpg`` it as soon as it has the pid."""
    sync_r, sync_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(sync_r)
        os.setsid()
        os.close(sync_w)
        return 0
    os.close(sync_w)
    os.read(sync_r, 1)  # EOF once the child has called setsid (or died)
    os.close(sync_r)
    return pid


def _loop(ctl_in: int, ctl_out: int, wake_r: int) -> dict[str, t.Any] | None:
    """Serve requests until stdin closes (None); in a forked child, return its
    request. No try/finally here: a child must leave this frame untouched."""
    children: dict[int, str] = {}  # pid -> its workspace ("" when sandboxed)
    buffer = b""
    while True:
        readable, _, _ = select.select([ctl_in, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(ctl_out, children)
        if ctl_in not in readable:
            continue
        data = os.read(ctl_in, 1 << 16)
        if not data:
            _kill_all(ctl_out, children)
            return None
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request: dict[str, t.Any] = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                pid = _fork(request)
            except OSError as exc:
                _send(ctl_out, {"id": request["id"], "error": str(exc)})
                continue
            if pid == 0:
                return request
            children[pid] = "" if request.get("sandbox") is not None else request["cwd"]
            _send(ctl_out, {"id": request["id"], "pid": pid})


def _child_sys_path(cwd: str, env: dict[str, str]) -> list[str]:
    """What ``python -m harness.serve`` run in ``cwd`` would see: the
    workspace, then PYTHONPATH, then the rest (the zygote's own cwd dropped)."""
    own = {"", str(Path.cwd()), *os.environ.get("PYTHONPATH", "").split(os.pathsep)}
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    rest = [p for p in sys.path if p not in own]
    return list(dict.fromkeys([cwd, *extra, *rest]))


def _redirect(path: str, fd: int, flags: int) -> None:
    opened = os.open(path, flags, 0o644)
    os.dup2(opened, fd)
    os.close(opened)


def _become_app(request: dict[str, t.Any], ctl_out: int, closing: tuple[int, ...]) -> int:
    """In the forked child: look like a fresh ``python -m harness.serve``, run it."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in closing:
        os.close(fd)
    _redirect(os.devnull, 0, os.O_RDONLY)
    _redirect(request["stdout"], 1, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    _redirect(request["stderr"], 2, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    env = request["env"]
    sys.path[:] = _child_sys_path(request["cwd"], env)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()  # TZ as a fresh interpreter would read it
    os.chdir(request["cwd"])
    importlib.invalidate_caches()
    pid = os.getpid()  # as the harness knows it: inside a sandbox the app is PID 2
    argv = [*request["argv"], *_sandboxed(request.get("sandbox"))]
    serve = importlib.import_module("harness.serve")
    assert serve.__file__ is not None  # a module loaded from a file, not a namespace
    sys.argv = [serve.__file__, *argv]

    def forward_ready(url: str) -> None:
        with contextlib.suppress(OSError):
            _send(ctl_out, {"ready": pid, "url": url})
            os.close(ctl_out)

    serve.READY_HOOKS.append(forward_ready)
    code: int = serve.main(argv)
    return code


def _sandboxed(spec: dict[str, t.Any] | None) -> list[str]:
    """Enter the sandbox when asked (this process becomes its supervisor and
    only the app returns); the extra ``harness.serve`` arguments it needs."""
    if spec is None:
        return []
    from harness.subject.sandbox import MockRoute
    from harness.subject.sandbox import SandboxError
    from harness.subject.sandbox import enter

    mock = MockRoute(spec["port"], spec["unix"]) if spec.get("port") else None
    try:
        fd = enter(mock, listen=True)
    except SandboxError as exc:
        print(f"posthog-verify sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(125)
    return ["--listen-fd", str(fd)]


def main() -> int:
    """The zygote: preload, say hello, serve; a forked child returns its exit
    code from here, so the interpreter finalizes normally."""
    ctl_in, ctl_out = os.dup(0), os.dup(1)  # dup'ed fds are not inherited by exec
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must not corrupt the control channel
    os.close(devnull)
    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL_PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # Move the preloaded objects out of the collector's reach: a child's
    # collections then skip them instead of walking (and copying-on-write) the
    # whole preloaded heap. Measured: a third less CPU per app.
    gc.freeze()
    _libc_prctl(_PR_SET_CHILD_SUBREAPER, 1)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    _send(ctl_out, {"hello": os.getpid(), "threads": threading.active_count()})
    request = _loop(ctl_in, ctl_out, wake_r)
    if request is None:
        return 0
    return _become_app(request, ctl_out, (ctl_in, wake_r, wake_w))


# -- the harness side -----------------------------------------------------------


class ZygoteUnavailable(Exception):
    """The zygote could not start, or died: launch with a subprocess instead."""


class ForkedChild:
    """A Popen-like handle on an app forked by the zygote."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.url: str | None = None
        self._exited = False
        self._orphaned = False
        self._cond = threading.Condition()

    def _event(self, url: str | None = None, code: int | None = None, exited: bool = False) -> None:
        with self._cond:
            self.url = url or self.url
            if exited:
                self.returncode, self._exited = code, True
            self._cond.notify_all()

    def _orphan(self) -> None:
        """The zygote died first: nobody will report this child's exit code."""
        with self._cond:
            self._orphaned = True
            self._cond.notify_all()

    def _alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _done(self) -> bool:
        if not self._exited and self._orphaned and not self._alive():
            self._exited = True  # exit code unknown: returncode stays None
        return self._exited

    def poll(self) -> int | None:
        with self._cond:
            self._done()
            return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit code; :raises subprocess.TimeoutExpired: still running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
                # An orphan's exit is never announced: re-check its liveness often.
                self._cond.wait(_ORPHAN_POLL_S if self._orphaned else left)
            return self.returncode

    def wait_ready(self, timeout: float) -> str | None:
        """Its URL once it serves; None if it exited or ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.url is None and not self._done():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, _ORPHAN_POLL_S) if self._orphaned else left)
            return self.url


class Zygote:
    """The harness's end of one zygote process; thread-safe."""

    def __init__(self, python: str | None = None, pythonpath: str | None = None) -> None:
        """:param python: the interpreter it runs under (pytest's by default).
        :param pythonpath: the folder ``harness`` imports from there (by default
        the one holding this package)."""
        root = pythonpath or str(Path(__file__).resolve().parents[2])
        env = snapshot()  # started from a worker thread: never walk os.environ
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._proc = subprocess.Popen(
            [python or sys.executable, "-m", "harness.subject.zygote"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        self._lock = threading.Lock()  # one request in flight at a time
        self._cond = threading.Condition()
        self._replies: dict[int, ForkedChild | str] = {}
        self._children: dict[int, ForkedChild] = {}
        self._next_id = 0
        self._alive = True
        self._hello: dict[str, t.Any] | None = None
        self._reader = threading.Thread(
            target=self._read, name="posthog-verify-zygote", daemon=True
        )
        self._reader.start()
        self._await_hello()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._alive

    def _stderr_text(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")[-2000:]
        return ""

    def _await_hello(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._hello or not self._alive, _HELLO_TIMEOUT_S)
            hello = self._hello
        if hello is None:
            self.close()
            raise ZygoteUnavailable(f"the zygote did not start: {self._stderr_text()!r}")
        if hello.get("threads") != 1:
            self.close()
            raise ZygoteUnavailable(
                f"the zygote has {hello.get('threads')} threads: unsafe to fork"
            )

    def _read(self) -> None:
        assert self._proc.stdout is not None
        with self._proc.stdout:
            for line in self._proc.stdout:
                self._dispatch(json.loads(line))
        with self._cond:
            self._alive = False
            for child in self._children.values():
                child._orphan()
            self._cond.notify_all()

    def _dispatch(self, message: dict[str, t.Any]) -> None:
        with self._cond:
            if "hello" in message:
                self._hello = message
            elif "id" in message:
                reply: ForkedChild | str = message.get("error", "")
                if "pid" in message:
                    reply = self._children[message["pid"]] = ForkedChild(message["pid"])
                self._replies[message["id"]] = reply
            self._cond.notify_all()
        if "ready" in message and message["ready"] in self._children:
            self._children[message["ready"]]._event(url=message["url"])
        elif "exit" in message and message["exit"] in self._children:
            self._children.pop(message["exit"])._event(code=message["code"], exited=True)

    def spawn(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        stdout: Path,
        stderr: Path,
        sandbox: dict[str, t.Any] | None = None,
    ) -> ForkedChild:
        """Fork one ``harness.serve`` child. :raises ZygoteUnavailable:"""
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            request = {"id": request_id, "argv": argv, "cwd": str(cwd), "env": env}
            request |= {"stdout": str(stdout), "stderr": str(stderr), "sandbox": sandbox}
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps(request).encode() + b"\n")
                self._proc.stdin.flush()
            except (OSError, ValueError) as exc:
                raise ZygoteUnavailable(f"the zygote is gone: {exc}") from exc
            with self._cond:
                self._cond.wait_for(
                    lambda: request_id in self._replies or not self._alive, _REPLY_TIMEOUT_S
                )
                reply = self._replies.pop(request_id, None)
        if not isinstance(reply, ForkedChild):
            raise ZygoteUnavailable(f"the zygote could not fork: {reply or self._stderr_text()!r}")
        return reply

    def close(self, timeout: float = 5.0) -> None:
        """Close its stdin (it kills its children's groups and exits), reap it."""
        with contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout)
        self._stderr.close()


_shared: Zygote | None = None
_shared_failed: str | None = None
_shared_lock = threading.Lock()


#: ``spawn`` or ``fork``: how app children start (default: fork, where it exists).
LAUNCHER_ENV = "POSTHOG_VERIFY_LAUNCHER"
LAUNCHERS = ("spawn", "fork")


def wanted_launcher(server: str) -> str:
    """The launcher for a ``server`` child: the env var's, else fork where it
    exists; gunicorn always spawns (see :mod:`harness.subject.process`)."""
    wanted = os.environ.get(LAUNCHER_ENV, "").strip().lower() or "fork"
    if wanted not in LAUNCHERS:
        raise ValueError(f"{LAUNCHER_ENV}={wanted!r}: expected one of {', '.join(LAUNCHERS)}")
    if wanted == "fork" and (server == "gunicorn" or not hasattr(os, "fork")):
        return "spawn"
    return wanted


def warm_up(server: str) -> None:
    """Start this process's zygote in the background, if apps will be forked
    from it: its imports (flask and posthog, half a second) then overlap the
    harness's own, and the first boot waits only for what is left of them.
    Light to import (the standard library only), so pytest_configure calls it
    before it imports the rest of the harness."""
    if wanted_launcher(server) == "fork":
        threading.Thread(target=shared_zygote, name="posthog-verify-warm-up", daemon=True).start()


def shared_zygote() -> Zygote | None:
    """This process's zygote, started on first use; None (logged once) when it
    cannot start or has died, so the caller spawns instead."""
    global _shared, _shared_failed
    with _shared_lock:
        if _shared_failed is None and _shared is None:
            try:
                _shared = Zygote()
                atexit.register(_shared.close)
            except (OSError, ZygoteUnavailable) as exc:
                _shared_failed = str(exc)
        elif _shared_failed is None and _shared is not None and not _shared.alive:
            _shared_failed = "the zygote died"
        if _shared_failed is not None:
            if _shared is not None or not _shared_failed.startswith("logged: "):
                logger.warning("posthog-verify: launching apps with spawn: %s", _shared_failed)
                _shared_failed = "logged: " + _shared_failed
            _shared = None
            return None
        return _shared


def reset_shared() -> None:
    """Close this process's zygote and forget any failure (tests)."""
    global _shared, _shared_failed
    with _shared_lock:
        if _shared is not None:
            _shared.close()
        _shared, _shared_failed = None, None


if __name__ == "__main__":
    sys.exit(main())
