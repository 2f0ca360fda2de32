"""Kernel-enforced isolation for every process of an app under judgement.

An app (and anything it starts) runs in a network namespace of its own, with
only ``lo`` up, so no route leaves the machine, and in a PID namespace of its
own, so when the namespace's PID 1 ends the kernel ends the whole tree, a
``setsid()`` grandchild included::

    isolation()                       # NAMESPACES, or GUARD_ONLY where unavailable
    code, tail = run_sandboxed(["flask", "db", "upgrade"], cwd, env, 60.0, log_path)

Three processes make one sandboxed app (see :func:`enter`)::

    supervisor  the harness's child: outside the PID namespace, inside the network
      |         namespace; relays 127.0.0.1:<mock port> to the mock's Unix socket,
      |         forwards SIGTERM/SIGINT, exits as the app did
      +- init   PID 1 of the namespace: reaps orphans, forwards signals to the app,
          |     dies with the supervisor (PR_SET_PDEATHSIG)
          +- app  PID 2: harness.serve (or a set-up command)

The app's listening socket is bound before the switch (a socket keeps the
namespace it was made in), so the harness reaches it from outside. The mock
stays reachable through a filesystem Unix socket (those cross network
namespaces) and the supervisor's relay. As root this uses
``unshare(CLONE_NEWNET|CLONE_NEWPID)``; otherwise an unprivileged user
namespace is added when the kernel allows it. Where neither works, apps run
under the in-process guard alone (:mod:`harness.subject.outbound`), and the run
says so. ``POSTHOG_VERIFY_ISOLATION=guard`` forces that fallback (tests).

Run as ``python -m harness.subject.sandbox [--mock-port P --mock-unix PATH]
[--listen] -- ARGV...`` it is the launcher for spawned apps: it enters the
sandbox and execs ``ARGV`` as the app (``--listen`` appends ``--listen-fd N``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

from harness.environ import snapshot

#: The isolation a run states (``Run.isolation``), by mode.
NAMESPACES = "network+pid namespaces"
GUARD_ONLY = (
    "in-process guard only (namespaces unavailable: a subprocess or native code "
    "the app runs can bypass it)"
)
#: ``guard`` forces the fallback; ``auto`` (default) uses namespaces where possible.
ISOLATION_ENV = "POSTHOG_VERIFY_ISOLATION"

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sh14x"
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_TAIL_CHARS = 4000
_PARENT_POLL_S = 0.5
_PROBE_TIMEOUT_S = 30.0
_CONTAIN_GRACE_S = 5.0
_SAVED_PYTHONPATH = "POSTHOG_VERIFY_SANDBOX_PYTHONPATH"


class SandboxError(OSError):
    """The namespaces could not be entered (the kernel or container refused)."""


class MockRoute(t.NamedTuple):
    """Where the app's mock URL must lead: its loopback port, the Unix socket."""

    port: int
    unix_path: str


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if _libc().unshare(flags) != 0:
        code = ctypes.get_errno()
        raise SandboxError(code, f"unshare failed: {os.strerror(code)}")


def _map_user() -> None:
    """In a fresh user namespace, keep our own uid and gid (mapped to themselves)."""
    uid, gid = os.geteuid(), os.getegid()
    _unshare(_CLONE_NEWUSER)
    with contextlib.suppress(FileNotFoundError):
        Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _loopback_up() -> None:
    """``ip link set lo up`` without ``ip``: SIOCSIFFLAGS on a socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, raw)[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


def _switch_namespaces() -> None:
    """Enter new network and PID namespaces (the PID one applies to children)."""
    if os.geteuid() != 0:
        _map_user()
    _unshare(_CLONE_NEWNET | _CLONE_NEWPID)
    _loopback_up()


def _die_with_parent() -> None:
    # No check of getppid() after it: the parent is outside the PID namespace,
    # so it reads 0 either way. The window is tiny, and the harness kills the
    # whole process group anyway (init is in it).
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# -- the availability probe -----------------------------------------------------

_probed: str | None = None
_probe_lock = threading.Lock()


def _probe() -> str:
    """Try the switch in a throwaway interpreter: NAMESPACES, or why not.

    A subprocess rather than a fork: the caller (pytest) has threads, and a
    forked copy of a threaded interpreter may deadlock on a lock it inherited.
    """
    root = str(Path(__file__).resolve().parents[2])
    code = "from harness.subject.sandbox import _switch_namespaces as s; s()"
    environ = snapshot()  # the first isolation() may come from a pool thread
    env = {
        **environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (root, environ.get("PYTHONPATH")))),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-S", "-c", code],
            env=env,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the probe failed: {exc}"
    if done.returncode == 0:
        return NAMESPACES
    return (
        done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0]
        if done.stderr
        else "refused"
    )


def isolation() -> str:
    """The isolation this process can give apps: :data:`NAMESPACES` or
    :data:`GUARD_ONLY` (forced by ``POSTHOG_VERIFY_ISOLATION=guard``).

    :raises ValueError: the variable holds anything but ``auto`` or ``guard``.
    """
    forced = os.environ.get(ISOLATION_ENV, "").strip().lower() or "auto"
    if forced not in ("auto", "guard"):
        raise ValueError(f"{ISOLATION_ENV}={forced!r}: expected 'auto' or 'guard'")
    if forced == "guard" or not sys.platform.startswith("linux"):
        return GUARD_ONLY
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = _probe()
    return NAMESPACES if _probed == NAMESPACES else GUARD_ONLY


# -- the relay to the mock ----------------------------------------------------------


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _relay_one(conn: socket.socket, unix_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(unix_path)
    except OSError:
        conn.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
    back.start()
    _pump(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _start_relay(listener: socket.socket, unix_path: str) -> None:
    """Start init's relay thread with the forwarded signals blocked in it.

    A process-directed signal goes to any thread that does not block it, and
    Python runs its handler only on the main thread, which here sits in
    ``waitpid``: a SIGTERM taken by a busy relay thread would never reach the
    app, and its stop would end in SIGKILL (seen about once in 400 apps under
    load). The relay's threads inherit the mask, so only the main thread can
    take a forwarded signal, and the kernel's choice does not matter.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
    try:
        threading.Thread(target=_relay, args=(listener, unix_path), daemon=True).start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _relay(listener: socket.socket, unix_path: str) -> None:
    """Accept on the namespace's 127.0.0.1:<mock port>; pipe each connection
    to the mock's Unix socket, until the process ends."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_relay_one, args=(conn, unix_path), daemon=True).start()


# -- the three processes -------------------------------------------------------------


def _forwarder(target: int) -> t.Callable[[int, t.Any], None]:
    def forward(signum: int, frame: t.Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signum)

    return forward


def _run_init(app: int, status_w: int) -> t.NoReturn:
    """PID 1: forward signals to the app, reap everything, and report the
    app's wait status to the supervisor when it ends."""
    with contextlib.suppress(BaseException):
        _init_loop(app, status_w)
    os._exit(1)


def _init_loop(app: int, status_w: int) -> None:
    for sig in _FORWARDED:
        signal.signal(sig, _forwarder(app))
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == app:
            with contextlib.suppress(OSError):
                os.write(status_w, f"{status}\n".encode())
            os._exit(0)  # the kernel now ends whatever is left in the namespace


def _exit_as(status: int) -> t.NoReturn:
    """End this process the way the app ended: its exit code, or its signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _supervise(init: int, status_r: int, parent: int) -> t.NoReturn:
    """Wait for init; forward signals to it; kill it if our parent dies."""
    for sig in _FORWARDED:
        signal.signal(sig, _forwarder(init))
    pidfd = os.pidfd_open(init)
    while not select.select([pidfd], [], [], _PARENT_POLL_S)[0]:
        if os.getppid() != parent:  # the harness is gone: so is the app
            os.kill(init, signal.SIGKILL)
    _, init_status = os.waitpid(init, 0)
    reported = os.read(status_r, 64).strip()
    _exit_as(int(reported) if reported else init_status)


def enter(mock: MockRoute | None = None, *, listen: bool = False) -> int | None:
    """Put this (single-threaded) process's future under a sandbox.

    Returns only in the app's process (PID 2 of the new namespace): the
    listening socket's fd when ``listen`` (bound on 127.0.0.1 before the
    switch, so reachable from outside), else None. The calling process
    becomes the supervisor and never returns (see the module docstring).

    :raises SandboxError: the kernel refused (the probe, :func:`isolation`,
        says beforehand whether it will).
    """
    listener = _listening_socket() if listen else None
    parent = os.getppid()
    _switch_namespaces()
    status_r, status_w = os.pipe()
    init = os.fork()
    if init != 0:
        # The supervisor. It cannot start threads: after unshare(CLONE_NEWPID)
        # the kernel refuses CLONE_THREAD here, which is why the relay is init's.
        try:
            os.close(status_w)
            if listener is not None:
                listener.close()
            _supervise(init, status_r, parent)
        except BaseException as exc:  # never fall back into the caller's frames
            print(f"posthog-verify sandbox supervisor: {exc!r}", file=sys.stderr, flush=True)
            os._exit(1)
    try:
        os.close(status_r)
        _die_with_parent()
        relay = _relay_listener(mock)
        app = os.fork()
    except BaseException as exc:
        print(f"posthog-verify sandbox init: {exc!r}", file=sys.stderr, flush=True)
        os._exit(1)
    if app != 0:
        if relay is not None and mock is not None:
            _start_relay(relay, mock.unix_path)
        _run_init(app, status_w)
    os.close(status_w)
    if relay is not None:
        relay.close()
    for sig in _FORWARDED:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return listener.detach() if listener is not None else None


def _relay_listener(mock: MockRoute | None) -> socket.socket | None:
    """The namespace's 127.0.0.1:<mock port>, listening before the app starts."""
    if mock is None:
        return None
    relay = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    relay.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    relay.bind(("127.0.0.1", mock.port))
    relay.listen(64)
    return relay


def contain() -> None:
    """The fallback's containment, for a command run without namespaces:
    this process becomes a child subreaper and supervises a fork of itself,
    which returns (to exec the command). When that ends, whatever it left
    (re-parented here, ``setsid()`` or not) is killed before this process
    exits the way the command did. Never returns in the supervisor."""
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    app = os.fork()
    if app == 0:
        for sig in _FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        return
    try:
        for sig in _FORWARDED:
            signal.signal(sig, _forwarder(app))
        # SIGUSR1: the deadline passed; end the command, then its leftovers.
        signal.signal(signal.SIGUSR1, lambda signum, frame: os.kill(app, signal.SIGKILL))
        status = _reap_until(app)
        _end_children()
    except BaseException as exc:  # never fall back into the caller's frames
        print(f"posthog-verify sandbox supervisor: {exc!r}", file=sys.stderr, flush=True)
        os._exit(1)
    _exit_as(status)


def _reap_until(app: int) -> int:
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == app:
            return status


def _end_children() -> None:
    """SIGKILL and reap every child until none is left (orphans keep arriving
    while their parents die)."""
    while children := children_of(os.getpid()):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


# -- ending a tree ---------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (``task/*/children`` where the
    kernel has it, else every process's ``stat``)."""
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def kill_tree(pid: int, timeout_s: float = 5.0) -> None:
    """SIGKILL the process group ``pid`` leads, and wait (up to ``timeout_s``)
    until it and its direct children have exited. A sandboxed app's direct
    child is its namespace's init, whose exit completes only once the kernel
    has ended every process in the namespace: so on return nothing the app
    started is still running, a ``setsid()`` grandchild included."""
    watched = []
    for target in (pid, *children_of(pid)):
        with contextlib.suppress(OSError):
            watched.append(os.pidfd_open(target))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    try:
        for fd in watched:
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    finally:
        for fd in watched:
            os.close(fd)


# -- the launcher and the set-up entry ---------------------------------------------


def launcher_command(
    argv: t.Sequence[str], mock: MockRoute | None, *, listen: bool, contain_only: bool = False
) -> list[str]:
    """The command that runs ``argv`` sandboxed (see the module docstring);
    ``contain_only``: no namespaces, only :func:`contain` (the fallback)."""
    command = [sys.executable, "-m", "harness.subject.sandbox"]
    if contain_only:
        command.append("--contain-only")
    if mock is not None:
        command += ["--mock-port", str(mock.port), "--mock-unix", mock.unix_path]
    if listen:
        command.append("--listen")
    return [*command, "--", *argv]


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - _TAIL_CHARS))
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def run_sandboxed(
    argv: t.Sequence[str],
    cwd: Path,
    env: t.Mapping[str, str],
    timeout_s: float,
    log_path: Path,
) -> tuple[int | None, str]:
    """Run one command (an app's set-up, e.g. ``flask db upgrade``) under the
    same isolation as the app: no network but loopback, and nothing it starts
    outlives it. Under the guard-only fallback it runs under a subreaper
    (:func:`contain`), so what it starts still ends with it, but its
    connections out are not stopped. ``env`` is the command's whole
    environment, passed as is.

    :param log_path: receives its stdout and stderr, interleaved.
    :returns: ``(exit_code, output_tail)``; ``exit_code`` is None when it was
        killed at ``timeout_s`` (negative for a signal, like Popen).
    """
    env = dict(env)
    isolated = isolation() == NAMESPACES
    command = launcher_command(argv, None, listen=False, contain_only=not isolated)
    # The launcher needs the harness importable; the command gets its own
    # PYTHONPATH back before it runs (see main()).
    env[_SAVED_PYTHONPATH] = env.get("PYTHONPATH", "")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with Path(log_path).open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    code: int | None
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        code = None
        if not isolated:  # let the subreaper end what the command left
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGUSR1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(_CONTAIN_GRACE_S)
    kill_tree(proc.pid)
    proc.wait()
    return code, _tail(Path(log_path))


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m harness.subject.sandbox [options] -- ARGV...")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="python -m harness.subject.sandbox")
    parser.add_argument("--mock-port", type=int)
    parser.add_argument("--mock-unix")
    parser.add_argument("--listen", action="store_true")
    parser.add_argument("--contain-only", action="store_true")
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def main(argv: list[str] | None = None) -> int:
    """The launcher: enter the sandbox, exec the command as the app."""
    args, command = _parse(sys.argv[1:] if argv is None else argv)
    if not command:
        raise SystemExit("python -m harness.subject.sandbox: no command after --")
    mock = MockRoute(args.mock_port, args.mock_unix) if args.mock_port else None
    try:
        fd = None if args.contain_only else enter(mock, listen=args.listen)
        if args.contain_only:
            contain()
    except SandboxError as exc:
        print(f"posthog-verify sandbox: {exc}", file=sys.stderr)
        return 125
    if fd is not None:
        command += ["--listen-fd", str(fd)]
    saved = os.environ.pop(_SAVED_PYTHONPATH, None)
    if saved is not None:
        os.environ["PYTHONPATH"] = saved
        if not saved:
            del os.environ["PYTHONPATH"]
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"posthog-verify sandbox: cannot run {command[0]!r}: {exc}", file=sys.stderr)
        return 127 if exc.errno == errno.ENOENT else 126


if __name__ == "__main__":
    sys.exit(main())
