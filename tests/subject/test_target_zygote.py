"""The fork launcher: apps forked from the pre-imported zygote live and die
exactly like spawned ones (clean exit, atexit, exit codes, kills), concurrently,
and nothing outlives the zygote.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from served import FAULTY
from served import SERVE
from served import SHORT
from served import get
from served import make_process

from harness.capture import CaptureServer
from harness.subject import process as process_module
from harness.subject.process import BootError
from harness.subject.workspace import fresh_copy
from harness.subject.zygote import LAUNCHER_ENV
from harness.subject.zygote import Zygote
from harness.subject.zygote import wanted_launcher


@pytest.fixture(autouse=True)
def _fork_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LAUNCHER_ENV, "fork")


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_forked_app_serves_and_exits_cleanly_on_sigterm(
    tmp_path: Path, mock: CaptureServer
) -> None:
    with make_process("healthy", "app:create_app", tmp_path, mock) as proc:
        url = proc.start()
        assert proc.launcher == "fork"
        assert get(url + "/")[0] == 200
        outcome = proc.stop()
    assert (outcome.exit_code, outcome.stop_signal) == (0, "SIGTERM")
    assert (proc.workdir / "atexit_ran").read_text() == "yes"  # the app's atexit ran
    assert proc.records().exited  # and the harness's, registered first, ran last
    assert proc.records().ready_url == url
    assert url in outcome.stdout_tail  # stdout went to its file
    assert [e.event for e in mock.store.events()] == ["home_viewed"]  # shutdown flushed
    assert not is_alive(outcome.pid or 0)


def test_a_hanging_import_is_killed_at_the_boot_deadline(
    tmp_path: Path, mock: CaptureServer
) -> None:
    with make_process("hang_import", "app:app", tmp_path, mock, timeouts=SHORT) as proc:
        with pytest.raises(BootError) as caught:
            proc.start()
        assert proc.launcher == "fork"
    assert caught.value.outcome.stop_signal == "SIGKILL after boot timeout (3 s)"
    assert caught.value.outcome.exit_code == -signal.SIGKILL
    assert "importing the app's module" in caught.value.failure.cause


def test_os_exit_in_a_request_is_reported_as_its_code(tmp_path: Path, mock: CaptureServer) -> None:
    with make_process("exit_in_request", "app:app", tmp_path, mock) as proc:
        url = proc.start()
        with pytest.raises((ConnectionError, urllib.error.URLError)):
            get(url + "/exit")
        assert proc.wait_exit(SERVE.stop_s) == 7
        outcome = proc.stop()
    assert (outcome.exit_code, outcome.stop_signal) == (7, None)


def test_an_app_ignoring_sigterm_is_killed_after_the_deadline(
    tmp_path: Path, mock: CaptureServer
) -> None:
    timeouts = dataclasses.replace(SERVE, stop_s=1.0)  # the stop's deadline is the subject
    with make_process("ignores_sigterm", "app:app", tmp_path, mock, timeouts=timeouts) as proc:
        proc.start()
        assert proc.launcher == "fork"
        outcome = proc.stop()
    assert outcome.stop_signal == "SIGKILL after SIGTERM timeout (1 s)"
    assert outcome.exit_code == -signal.SIGKILL


def test_concurrent_starts_each_get_their_own_child(tmp_path: Path, mock: CaptureServer) -> None:
    # Two different apps, both a module named ``app``: neither leaks into the other.
    names = ["healthy", "exit_in_request", "healthy", "exit_in_request"]
    procs = [
        make_process(
            name, "app:create_app" if name == "healthy" else "app:app", tmp_path / str(i), mock
        )
        for i, name in enumerate(names)
    ]
    urls: dict[int, str] = {}
    barrier = threading.Barrier(len(procs))

    def start(index: int) -> None:
        barrier.wait(5.0)
        urls[index] = procs[index].start()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(procs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    try:
        assert sorted(urls) == [0, 1, 2, 3]
        assert len({p.pid for p in procs}) == 4
        assert {p.launcher for p in procs} == {"fork"}
        for proc, name in zip(procs, names, strict=True):
            rules = {r.rule for r in proc.records().routes}
            assert ("/exit" in rules) is (name == "exit_in_request")
        outcomes = [p.stop() for p in procs]
    finally:
        for proc in procs:
            proc.__exit__(None, None, None)
    assert [o.exit_code for o in outcomes] == [0, 0, 0, 0]
    assert not any(is_alive(o.pid or 0) for o in outcomes)


def test_closing_the_zygote_leaves_no_process(tmp_path: Path) -> None:
    zygote = Zygote()
    workdir = fresh_copy(FAULTY / "hang_import", tmp_path)
    argv = ["--target", "app:app", "--log", str(tmp_path / "log.jsonl")]
    env = {"PATH": os.environ.get("PATH", "")}
    child = zygote.spawn(argv, workdir, env, tmp_path / "out.log", tmp_path / "err.log")
    assert child.wait_ready(0.2) is None  # hangs importing
    assert is_alive(child.pid)
    zygote.close()  # its stdin closes: it kills its children's groups and exits
    assert not zygote.alive
    assert zygote._proc.poll() == 0
    assert child.wait(5.0) == -signal.SIGKILL  # reaped and reported before it exits
    assert not is_alive(child.pid)


def test_spawn_is_used_when_asked(
    tmp_path: Path, mock: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LAUNCHER_ENV, "spawn")
    with make_process("healthy", "app:create_app", tmp_path, mock) as proc:
        proc.start()
        assert proc.launcher == "spawn"
        assert proc.stop().exit_code == 0
    assert (proc.workdir / "atexit_ran").read_text() == "yes"


def test_a_dead_zygote_falls_back_to_spawn(
    tmp_path: Path,
    mock: CaptureServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = Zygote()
    dead.close()
    monkeypatch.setattr(process_module, "shared_zygote", lambda: dead)
    with (
        caplog.at_level(logging.WARNING),
        make_process("healthy", "app:create_app", tmp_path, mock) as proc,
    ):
        proc.start()
        assert proc.launcher == "spawn"
        assert proc.stop().exit_code == 0
    assert "spawning app:create_app instead of forking" in caplog.text


def test_launcher_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wanted_launcher("werkzeug") == "fork"
    assert wanted_launcher("gunicorn") == "spawn"
    monkeypatch.setenv(LAUNCHER_ENV, "spawn")
    assert wanted_launcher("werkzeug") == "spawn"
    monkeypatch.setenv(LAUNCHER_ENV, "vfork")
    with pytest.raises(ValueError, match="POSTHOG_VERIFY_LAUNCHER='vfork'"):
        wanted_launcher("werkzeug")
