"""The sandbox: kernel-enforced isolation and containment of every app process.

The outside-world tests stand up a fake world in network namespaces of their
own (198.51.100.0/24, TEST-NET-2, never routed anywhere real): a listener and
a resolver in one namespace, the harness in another with a route to it. They
prove the world is reachable from where the harness runs, then that nothing
the hostile apps (tests/apps/hostile) try reaches it on the namespace path,
and that the fallback's report names what it could not stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest

from harness.subject import sandbox
from harness.subject.sandbox import GUARD_ONLY
from harness.subject.sandbox import NAMESPACES

HERE = Path(__file__).resolve().parent
HOSTILE = HERE.parent / "apps" / "hostile"
ROOT = HERE.parents[1]
WORLD = "198.51.100.1"
HARNESS_SIDE = "198.51.100.2"

needs_namespaces = pytest.mark.skipif(
    sys.platform != "linux" or sandbox.isolation() != NAMESPACES,
    reason="network/PID namespaces are unavailable here (CI runs as root, where they are)",
)
needs_ip = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="the fake outside world needs root and iproute2's ip",
)


def processes_under(prefix: Path) -> list[int]:
    """Live processes whose working directory is inside ``prefix`` (every app
    process starts in its workspace, and so does anything it spawns)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = str((entry / "cwd").readlink())
        except OSError:
            continue
        if cwd.startswith(str(prefix)):
            found.append(int(entry.name))
    return found


# -- run_sandboxed ----------------------------------------------------------------


@needs_namespaces
def test_run_sandboxed_reports_exit_code_output_and_no_route_out(tmp_path: Path) -> None:
    code = (
        "import os, socket\n"
        "print('pid', os.getpid())\n"
        "print([n for _, n in socket.if_nameindex()])\n"
        "try:\n"
        f"    socket.create_connection(('{WORLD}', 80), 1)\n"
        "except OSError as exc:\n"
        "    print('errno', exc.errno)\n"
        "raise SystemExit(7)\n"
    )
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", code], tmp_path, dict(os.environ), 10.0, tmp_path / "log"
    )
    assert exit_code == 7
    assert "pid 2\n" in tail  # PID 2 of its own namespace, under init
    assert "['lo']" in tail
    assert "errno 101" in tail  # ENETUNREACH: there is no route off the machine


@needs_namespaces
def test_run_sandboxed_kills_the_tree_at_the_deadline(tmp_path: Path) -> None:
    code = (
        "import os, subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()'],"
        " start_new_session=True)\n"
        "print('spawned', flush=True)\n"
        "import signal; signal.pause()\n"
    )
    work = tmp_path / "cwd"
    work.mkdir()
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", code], work, dict(os.environ), 1.5, tmp_path / "log"
    )
    assert exit_code is None
    assert "spawned" in tail
    assert processes_under(work) == []


def test_run_sandboxed_under_the_fallback_still_ends_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "guard")
    work = tmp_path / "cwd"
    work.mkdir()
    code = (
        "import subprocess, signal, sys\n"
        "subprocess.Popen(['sleep', '60'])\n"
        "subprocess.Popen(['sleep', '61'], start_new_session=True)\n"
        "print('spawned', flush=True)\n"
        "signal.pause()\n"
    )
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", code], work, dict(os.environ), 1.5, tmp_path / "log"
    )
    assert exit_code is None
    assert "spawned" in tail
    assert processes_under(work) == []  # the setsid one included: a subreaper ended it


def test_run_sandboxed_under_the_fallback_reports_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "guard")
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", "print('done'); raise SystemExit(3)"],
        tmp_path,
        dict(os.environ),
        10.0,
        tmp_path / "log",
    )
    assert (exit_code, tail) == (3, "done\n")


def test_isolation_can_be_forced_to_the_guard_and_rejects_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "guard")
    assert sandbox.isolation() == GUARD_ONLY
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "off")
    with pytest.raises(
        ValueError, match="POSTHOG_VERIFY_ISOLATION='off': expected 'auto' or 'guard'"
    ):
        sandbox.isolation()


def _blocked(task: Path) -> set[int]:
    """The signals one thread blocks (its ``SigBlk`` mask in /proc)."""
    for line in (task / "status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    raise AssertionError(f"no SigBlk line in {task}/status")


@needs_namespaces
def test_only_inits_main_thread_can_take_a_forwarded_signal(tmp_path: Path) -> None:
    """Python runs a signal's handler on the main thread only, and init's sits
    in ``waitpid``: a SIGTERM the kernel gave a relay thread instead would
    never be forwarded, and the app's stop would end in SIGKILL. So every
    relay thread blocks the forwarded signals, and the stop reaches the app."""
    mock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mock.bind(str(tmp_path / "mock.sock"))
    mock.listen()
    mock.settimeout(20)
    port = 39125  # the namespace is new: nothing else listens in it
    code = (
        "import signal, socket, sys\n"
        f"s = socket.create_connection(('127.0.0.1', {port}), 10)\n"
        "s.sendall(b'ping'); assert s.recv(4) == b'pong'\n"
        "print('relayed', flush=True)\n"
        "signal.pause()\n"
    )
    command = sandbox.launcher_command(
        [sys.executable, "-c", code],
        sandbox.MockRoute(port, str(tmp_path / "mock.sock")),
        listen=False,
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as supervisor:
        try:
            upstream, _ = mock.accept()  # the relay connected for the app
            with upstream:
                assert upstream.recv(4) == b"ping"  # its pumps run: every thread exists
                upstream.sendall(b"pong")
                assert supervisor.stdout is not None
                assert supervisor.stdout.readline() == "relayed\n"
                (init,) = sandbox.children_of(supervisor.pid)
                tasks = {task.name: task for task in Path(f"/proc/{init}/task").iterdir()}
                main = tasks.pop(str(init))
                forwarded = {int(sig) for sig in sandbox._FORWARDED}
                assert len(tasks) >= 3  # the accept loop and the connection's two pumps
                for name, task in tasks.items():
                    assert forwarded <= _blocked(task), f"relay thread {name} takes signals"
                assert not forwarded & _blocked(main)
                supervisor.send_signal(signal.SIGTERM)
                assert supervisor.wait(10) == -signal.SIGTERM  # the app ended by it
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(supervisor.pid, signal.SIGKILL)
            mock.close()


# -- the fake outside world -------------------------------------------------------------


class World(t.NamedTuple):
    harness_ns: str
    log: Path

    def contacts(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 240.0) -> str:
        """Run a command in the harness's namespace (where the world is reachable)."""
        full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        done = subprocess.run(
            ["ip", "netns", "exec", self.harness_ns, *argv],
            env=full,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def world(tmp_path: Path) -> t.Iterator[World]:
    tag = f"{os.getpid() % 100000}"
    outside, inside = f"phvw{tag}", f"phvh{tag}"
    _ip("netns", "add", outside)
    _ip("netns", "add", inside)
    etc = Path("/etc/netns") / inside
    server = None
    try:
        _ip(
            "-n",
            outside,
            "link",
            "add",
            f"vw{tag}",
            "type",
            "veth",
            "peer",
            f"vh{tag}",
            "netns",
            inside,
        )
        _ip("-n", outside, "addr", "add", f"{WORLD}/24", "dev", f"vw{tag}")
        _ip("-n", inside, "addr", "add", f"{HARNESS_SIDE}/24", "dev", f"vh{tag}")
        for ns, dev in ((outside, f"vw{tag}"), (inside, f"vh{tag}")):
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", inside, "route", "add", "default", "via", WORLD)
        etc.mkdir(parents=True, exist_ok=True)  # ip netns exec binds it over /etc
        (etc / "resolv.conf").write_text(f"nameserver {WORLD}\n")
        log = tmp_path / "world.log"
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                outside,
                sys.executable,
                str(HERE / "world.py"),
                str(log),
                WORLD,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        yield World(inside, log)
    finally:
        if server is not None:
            server.kill()
            server.wait()
            if server.stdout is not None:
                server.stdout.close()
        shutil.rmtree(etc, ignore_errors=True)
        for ns in (outside, inside):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


HOSTILE_ENV = {
    "HOSTILE_HOST": WORLD,
    "HOSTILE_PORT": "80",
    "HOSTILE_UDP_PORT": "9999",
    "HOSTILE_NAME": "outside.example",
}
APPS = ("raw_socket", "udp_sendto", "subprocess_connect", "hardcoded_noenv", "setsid_grandchild")


def _verify_in_world(world: World, workdir: Path, isolation: str) -> dict[str, t.Any]:
    argv = [sys.executable, str(HERE / "sandbox_runner.py"), str(workdir)]
    argv += [str(HOSTILE / name) for name in APPS]
    env = {**HOSTILE_ENV, sandbox.ISOLATION_ENV: isolation}
    result: dict[str, t.Any] = json.loads(world.run(*argv, env=env))
    return result


def _prove_reachable(world: World) -> None:
    """The control: from the harness's namespace, without the harness, the
    world answers (a TCP connection, a UDP datagram, a DNS answer)."""
    probe = (
        "import socket\n"
        f"socket.create_connection(('{WORLD}', 80), 2).close()\n"
        f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'control', ('{WORLD}', 9999))\n"
        "print(socket.gethostbyname('outside.example'))\n"
    )
    assert world.run(sys.executable, "-c", probe).strip() == WORLD
    contacts = world.contacts()
    assert any(line.startswith("tcp 80 from") for line in contacts)
    assert any(line.startswith("udp 9999") for line in contacts)
    assert any(line.startswith("dns outside.example") for line in contacts)
    world.log.unlink()


def _attempts(result: dict[str, t.Any], app: str) -> set[tuple[t.Any, ...]]:
    return {
        (c["host"], c["port"], c["protocol"], c["outcome"], c["boot"])
        for c in result[app]["connections"]
    }


@pytest.mark.slow
@needs_ip
@needs_namespaces
def test_nothing_reaches_the_outside_world_on_the_namespace_path(world: World) -> None:
    _prove_reachable(world)
    workdir = Path(tempfile.mkdtemp(prefix="phv-world-"))
    try:
        result = _verify_in_world(world, workdir, "auto")
        assert world.contacts() == []  # nothing at all reached the world
        assert {app["isolation"] for app in result.values()} == {NAMESPACES}
        raw = _attempts(result, "raw_socket")
        assert ("outside.example", 80, "dns", "unreachable", "main") in raw
        assert (WORLD, 80, "tcp", "unreachable", "main") in raw
        assert "Network is unreachable" in result["raw_socket"]["bodies"][0]
        assert (WORLD, 9999, "udp", "unreachable", "main") in _attempts(result, "udp_sendto")
        processes = [
            c
            for c in result["subprocess_connect"]["connections"]
            if c["protocol"] == "process" and c["boot"] == "main"
        ]
        assert processes
        assert {c["outcome"] for c in processes} == {"contained"}
        assert all("create_connection" in c["host"] for c in processes)
        assert "Network is unreachable" in result["subprocess_connect"]["bodies"][0]
        noenv = _attempts(result, "hardcoded_noenv")
        assert ("us.i.posthog.com", 443, "https", "mock", "no_env") in noenv
        assert result["hardcoded_noenv"]["no_env_served"] is True
        assert processes_under(workdir) == []  # the setsid grandchild included
        assert list(workdir.iterdir()) == []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.slow
@needs_ip
def test_the_fallback_says_what_it_cannot_stop(world: World) -> None:
    _prove_reachable(world)
    workdir = Path(tempfile.mkdtemp(prefix="phv-world-"))
    try:
        result = _verify_in_world(world, workdir, "guard")
        assert {app["isolation"] for app in result.values()} == {GUARD_ONLY}
        assert "a subprocess or native code the app runs can bypass it" in GUARD_ONLY
        # The guard stops the in-process attempts...
        raw = _attempts(result, "raw_socket")
        assert ("outside.example", 80, "dns", "refused", "main") in raw
        assert (WORLD, 80, "tcp", "refused", "main") in raw
        assert (WORLD, 9999, "udp", "refused", "main") in _attempts(result, "udp_sendto")
        assert ("us.i.posthog.com", 443, "https", "mock", "no_env") in _attempts(
            result, "hardcoded_noenv"
        )
        # ...but not a subprocess: it reached the world, and the record says so.
        processes = [
            c
            for c in result["subprocess_connect"]["connections"]
            if c["protocol"] == "process" and c["boot"] == "main"
        ]
        assert processes
        assert {c["outcome"] for c in processes} == {"unseen"}
        assert all("create_connection" in c["host"] for c in processes)
        contacts = world.contacts()
        assert contacts
        assert all(line.startswith("tcp 80 from") for line in contacts)
        # The setsid() grandchild still ends with its app: the zygote is a
        # child subreaper and ends what an app left in its workspace.
        assert processes_under(workdir) == []
    finally:
        for pid in processes_under(workdir):  # only when the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


@needs_namespaces
def test_run_sandboxed_gives_the_command_its_own_environment(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"APP_SETTING": "x1"}
    code = "import os; print(os.environ.get('PYTHONPATH'), os.environ['APP_SETTING'])"
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", code], tmp_path, env, 10.0, tmp_path / "log"
    )
    assert (exit_code, tail) == (0, "None x1\n")


@pytest.mark.slow
@pytest.mark.parametrize("server", ["werkzeug", "gunicorn"])
def test_the_fallback_still_ends_a_setsid_grandchild(
    monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    from harness.verify import Options
    from harness.verify import verify_app

    monkeypatch.setenv(sandbox.ISOLATION_ENV, "guard")
    workdir = Path(tempfile.mkdtemp(prefix="phv-fb-"))
    try:
        run = verify_app(
            HOSTILE / "setsid_grandchild",
            name="setsid_grandchild",
            options=Options(server=server, workdir=workdir),
        )
        assert run.isolation == GUARD_ONLY
        assert run.boot_failure is None
        assert run.process is not None
        assert run.process.stop_signal == "SIGTERM"
        assert processes_under(workdir) == []
        assert list(workdir.iterdir()) == []
    finally:
        for pid in processes_under(workdir):  # only when the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)
