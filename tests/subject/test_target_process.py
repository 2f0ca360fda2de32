"""AppProcess: the parent side of a served app, against real child processes.

Each faulty app in tests/apps/faulty fails in one way; the harness must name
the phase and come back within its deadline, and stop() must always work.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from served import SERVE
from served import SHORT
from served import get
from served import make_process

from harness.capture import CaptureServer
from harness.run import Phase
from harness.subject.process import BootError
from harness.subject.workspace import fresh_copy


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("werkzeug", id="werkzeug"),
        pytest.param("gunicorn", id="gunicorn"),
    ],
)
def test_ready_probe_and_clean_sigterm_stop(
    tmp_path: Path, mock: CaptureServer, server: str
) -> None:
    with make_process("healthy", "app:create_app", tmp_path, mock, server=server) as proc:
        url = proc.start()
        assert url.startswith("http://127.0.0.1:")
        assert get(url + "/__posthog_verify__/ready") == (200, b"ok")
        assert get(url + "/")[0] == 200
        outcome = proc.stop()
    assert outcome.exit_code == 0
    assert outcome.stop_signal == "SIGTERM"
    assert outcome.server == server
    assert (proc.workdir / "atexit_ran").read_text() == "yes"
    observations = proc.records()
    assert observations.exited
    assert observations.ready_url == url
    # the app's registered shutdown flushed the event before the process ended
    assert [e.event for e in mock.store.events()] == ["home_viewed"]


BOOT_FAILURES = {
    # id: (app folder, target, phase, app_raised, the cause says)
    "hang-import": ("hang_import", "app:app", Phase.IMPORT, False, "not ready within 3 s"),
    "import-raises": ("import_raises", "app:app", Phase.IMPORT, True, "RuntimeError: boom"),
    # A package the environment lacks: install the requirements; no verdict on the app.
    "missing-dependency": (
        "missing_dependency",
        "app:app",
        Phase.IMPORT,
        False,
        "the app imports 'posthog_verify_no_such_package', which is not installed",
    ),
    # The app's own configuration, missing from the environment: not a verdict.
    "missing-setting": (
        "needs_secret_key",
        "app:app",
        Phase.IMPORT,
        False,
        "the app needs the environment variable 'PVTEST_SHOP_SECRET_KEY', which is not set "
        "(KeyError: 'PVTEST_SHOP_SECRET_KEY'): set it in the app's manifest [env]",
    ),
    "missing-submodule": (
        "missing_submodule",
        "app:app",
        Phase.IMPORT,
        True,
        "ImportError: cannot import name 'no_such_integration' from 'posthog.integrations'",
    ),
    "factory-raises": ("factory_raises", "app:create_app", Phase.BOOT, True, "ValueError"),
    "not-flask": ("not_flask", "app:app", Phase.BOOT, False, "app:app is int, not a Flask app"),
    "missing-attr": ("healthy", "app:nope", Phase.BOOT, False, "has no attribute 'nope'"),
    "missing-module": ("healthy", "nomodule:app", Phase.IMPORT, False, "no module named"),
}


@pytest.mark.parametrize(
    ("name", "target", "phase", "app_raised", "cause"),
    [pytest.param(*row, id=key) for key, row in BOOT_FAILURES.items()],
)
def test_boot_failures_name_their_phase_within_the_deadline(
    tmp_path: Path,
    mock: CaptureServer,
    name: str,
    target: str,
    phase: Phase,
    app_raised: bool,
    cause: str,
) -> None:
    # Only the hang waits for the deadline; every other failure is reported as
    # itself (its cause, not "not ready within"), however slow the machine.
    timeouts = SHORT if name == "hang_import" else SERVE
    proc = make_process(name, target, tmp_path, mock, timeouts=timeouts)
    with proc, pytest.raises(BootError) as caught:
        proc.start()
    failure = caught.value.failure
    assert (failure.phase, failure.app_raised) == (phase, app_raised)
    assert cause in failure.cause
    outcome = caught.value.outcome
    if name == "hang_import":
        assert outcome.stop_signal == "SIGKILL after boot timeout (3 s)"
        assert outcome.exit_code == -signal.SIGKILL
    else:
        assert outcome.exit_code == 3
        assert failure.detail or not app_raised


def test_stop_works_while_a_request_hangs(tmp_path: Path, mock: CaptureServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(SERVE.request_s)
    notify = {"HANG_NOTIFY_PORT": str(listener.getsockname()[1])}
    with listener, make_process("hang_route", "app:app", tmp_path, mock, notify) as proc:
        url = proc.start()
        errors: list[BaseException] = []

        def hang() -> None:
            try:
                get(url + "/hang", timeout=SERVE.request_s)
            except OSError as exc:  # the driver's own timeout, or the reset at stop
                errors.append(exc)

        caller = threading.Thread(target=hang)
        caller.start()
        listener.accept()[0].close()  # the view is running (or accept times out)
        outcome = proc.stop()
        caller.join(SERVE.request_s + 1)
    assert len(errors) == 1
    assert outcome.exit_code == 0
    assert outcome.stop_signal == "SIGTERM"  # it stopped itself: the deadline never fired
    assert outcome.stop_duration_s is not None


def test_os_exit_during_a_request_is_the_process_outcome(
    tmp_path: Path, mock: CaptureServer
) -> None:
    with make_process("exit_in_request", "app:app", tmp_path, mock) as proc:
        url = proc.start()
        with pytest.raises((ConnectionError, urllib.error.URLError)):
            get(url + "/exit")
        # the socket closes a moment before the process is reaped: wait for it
        assert proc.wait_exit(SERVE.stop_s) == 7
        outcome = proc.stop()
    assert outcome.exit_code == 7
    assert outcome.stop_signal is None  # it was already dead


def test_an_app_ignoring_sigterm_is_killed_after_the_deadline(
    tmp_path: Path, mock: CaptureServer
) -> None:
    timeouts = dataclasses.replace(SERVE, stop_s=1.0)  # the stop's deadline is the subject
    with make_process("ignores_sigterm", "app:app", tmp_path, mock, timeouts=timeouts) as proc:
        proc.start()
        outcome = proc.stop()
    assert outcome.stop_signal == "SIGKILL after SIGTERM timeout (1 s)"
    assert outcome.exit_code == -signal.SIGKILL
    assert outcome.stop_duration_s is not None
    assert outcome.stop_duration_s >= 1.0  # it waited for the deadline first


def test_context_exit_kills_a_running_app(tmp_path: Path, mock: CaptureServer) -> None:
    with make_process("hang_route", "app:app", tmp_path, mock) as proc:
        proc.start()
        pid = proc.pid
    assert proc.outcome is not None
    assert proc.outcome.stop_signal == "SIGKILL on context exit"
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_records_tolerate_a_truncated_last_line(tmp_path: Path, mock: CaptureServer) -> None:
    proc = make_process("healthy", "app:create_app", tmp_path, mock)
    proc.log_path.write_text(
        '{"type": "ready", "url": "http://127.0.0.1:1"}\n{"type": "routes", "rul'
    )
    assert proc.records().ready_url == "http://127.0.0.1:1"
    assert proc.records().routes == ()


def test_fresh_copy_keeps_instance_and_leaves_out_caches(tmp_path: Path) -> None:
    """``instance/`` holds what the app needs to run (its config, its SQLite
    database): it is copied; version control and caches are not."""
    app = tmp_path / "src" / "shop"
    for rel in ("app.py", "data/seed.db", "instance/app.sqlite3", ".git/HEAD", "__pycache__/x.pyc"):
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text("x")
    copy = fresh_copy(app, tmp_path / "run")
    copied = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert copied == ["app.py", "data/seed.db", "instance/app.sqlite3"]
    (copy / "instance" / "app.sqlite3").write_text("written by the run")
    assert (app / "instance" / "app.sqlite3").read_text() == "x"  # the original is untouched


def test_gunicorn_boot_failure_is_reported_like_werkzeugs(
    tmp_path: Path, mock: CaptureServer
) -> None:
    proc = make_process("factory_raises", "app:create_app", tmp_path, mock, server="gunicorn")
    with proc, pytest.raises(BootError) as caught:
        proc.start()
    assert caught.value.failure.cause == "ValueError: factory is broken"
    assert (caught.value.failure.phase, caught.value.failure.app_raised) == (Phase.BOOT, True)
    assert caught.value.outcome.exit_code == 3


def test_a_gunicorn_that_cannot_be_imported_is_the_environments_error_naming_the_fix(
    tmp_path: Path, mock: CaptureServer
) -> None:
    proc = make_process("old_gunicorn", "app:create_app", tmp_path, mock, server="gunicorn")
    with proc, pytest.raises(BootError) as caught:
        proc.start()
    failure = caught.value.failure
    assert (failure.phase, failure.app_raised) == (Phase.IMPORT, False)
    assert failure.cause.startswith(
        "the app's gunicorn cannot be imported in the app's interpreter ("
    )
    assert "ModuleNotFoundError: No module named 'pkg_resources'" in failure.cause
    assert "pin setuptools<81 in the app's requirements" in failure.cause
    assert failure.cause.endswith("or pass --posthog-server werkzeug")
