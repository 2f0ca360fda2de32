"""The in-process mode judges every corpus app as the server mode does, and
leaves nothing behind in the interpreter.

The whole corpus (every app is package ``app``) is verified once, one app after
another in this interpreter, with zero configuration; each app's verdicts are
then compared with ``target_apps/expectations.toml``, and the interpreter's
state is compared before and after each app.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import sys
import tempfile
import threading
import tomllib
import types
import typing as t
from pathlib import Path

import posthog
import pytest

from harness.checks import run_checks
from harness.run import Phase
from harness.verify_inprocess import MOCK_HOST
from harness.verify_inprocess import verify_in_process
from target_apps.materialize import app_dir

if t.TYPE_CHECKING:
    from harness.run import Run

ROOT = Path(__file__).resolve().parents[2]
TARGET_APPS = ROOT / "target_apps"
EXPECTATIONS: dict[str, t.Any] = tomllib.loads((TARGET_APPS / "expectations.toml").read_text())[
    "apps"
]
#: Checks that need a stopped process or a second boot: they skip in process.
SERVER_ONLY = frozenset({"flush_on_shutdown", "boots_without_posthog_env"})
#: (app, check) -> (verdict in process, why it differs from expectations.toml).
#: Empty: every other verdict is the same in both modes.
IN_PROCESS_DIFFERENCES: dict[tuple[str, str], tuple[str, str]] = {}
BOOT_FAILS = {"broken_boot_typo", "settings_error_at_boot"}
#: The environment lacks what the app needs (not the app's own code raising).
ENVIRONMENT_FAILS = {"settings_error_at_boot"}
#: Every request fails in the integration's teardown hook.
CANNOT_SERVE = {"integration_teardown_exit"}


@dataclasses.dataclass(frozen=True)
class State:
    """What an app could leave behind in this interpreter."""

    environ: dict[str, str]
    cwd: str
    path: list[str]
    app_modules: list[str]
    hooks: tuple[t.Any, t.Any]
    posthog: dict[str, int]
    atexit_callbacks: int
    threads: frozenset[str]


def snapshot() -> State:
    settings = {
        name: id(value)
        for name, value in vars(posthog).items()
        if not isinstance(value, types.ModuleType)
    }
    live = [th for th in threading.enumerate() if th.name.startswith("pv-client")]
    for thread in live:  # the test client's request threads end with their request
        thread.join(timeout=5)
    return State(
        environ=dict(os.environ),
        cwd=str(Path.cwd()),
        path=list(sys.path),
        app_modules=sorted(m for m in sys.modules if m == "app" or m.startswith("app.")),
        hooks=(sys.excepthook, threading.excepthook),
        posthog=settings,
        atexit_callbacks=atexit._ncallbacks(),  # type: ignore[attr-defined]
        threads=frozenset(f"{th.name}:{th.ident}" for th in threading.enumerate()),
    )


@dataclasses.dataclass(frozen=True)
class Judged:
    run: Run
    verdicts: dict[str, str]
    before: State
    after: State


@pytest.fixture(scope="module")
def corpus() -> dict[str, Judged]:
    """Every corpus app verified in process, in one interpreter, one after another."""
    # weakref.finalize (TemporaryDirectory) registers its own atexit hook once
    # per interpreter: let that happen before counting.
    tempfile.TemporaryDirectory().cleanup()
    judged = {}
    for name in sorted(EXPECTATIONS):
        before = snapshot()
        run = verify_in_process(app_dir(name), name=name)
        after = snapshot()
        verdicts = {r.check_id: r.status.value for r in run_checks(run)}
        judged[name] = Judged(run, verdicts, before, after)
    return judged


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_app_is_found_booted_and_driven(corpus: dict[str, Judged], name: str) -> None:
    run = corpus[name].run
    assert run.mode == "in_process"
    assert run.mock_host == MOCK_HOST
    assert run.app.target
    if name in BOOT_FAILS:
        assert run.boot_failure is not None
        assert run.boot_failure.app_raised is (name not in ENVIRONMENT_FAILS)
        assert run.boot_failure.phase in {Phase.IMPORT, Phase.BOOT}
        assert "Traceback" in run.boot_failure.detail
        assert run.exchanges == ()
        return
    assert run.boot_failure is None
    assert run.harness_errors == ()
    if name in CANNOT_SERVE:  # the same failure recorded on every request, as in a server
        failures = [x.failure for x in run.exchanges if x.kind != "probe"]
        assert all(f is not None and f.in_integration for f in failures)
        assert {f.location.file for f in failures if f and f.location} == {"wsgi.py"}
        return
    assert run.steps_incomplete == {}
    assert {"signup", "login", "probe"} <= {e.kind for e in run.exchanges}
    assert all(e.status is not None for e in run.exchanges)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_verdicts_match_expectations(corpus: dict[str, Judged], name: str) -> None:
    expected = {
        check: IN_PROCESS_DIFFERENCES.get((name, check), (verdict, ""))[0]
        for check, verdict in EXPECTATIONS[name]["expect"].items()
        if check not in SERVER_ONLY
    }
    got = {check: v for check, v in corpus[name].verdicts.items() if check not in SERVER_ONLY}
    assert got == expected


@pytest.mark.parametrize("name", sorted(set(EXPECTATIONS) - BOOT_FAILS))
def test_server_only_checks_skip(corpus: dict[str, Judged], name: str) -> None:
    assert {c: corpus[name].verdicts[c] for c in SERVER_ONLY} == dict.fromkeys(SERVER_ONLY, "skip")


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_nothing_is_left_behind(corpus: dict[str, Judged], name: str) -> None:
    before, after = corpus[name].before, corpus[name].after
    assert after.app_modules == []
    assert after.environ == before.environ
    assert (after.cwd, after.path) == (before.cwd, before.path)
    assert after.hooks == before.hooks
    assert after.posthog == before.posthog
    assert after.atexit_callbacks == before.atexit_callbacks
    assert after.threads == before.threads


def test_calls_are_attributed_to_exchanges(corpus: dict[str, Judged]) -> None:
    """The step header reaches the instrumentation's WSGI wrapper."""
    run = corpus["reference"].run
    signup = {e.index for e in run.exchanges if e.kind == "signup"}
    assert [c.phase for c in run.clients] == ["boot"]
    assert any(m.step in signup for m in run.enqueued)
    assert all(c.step is not None for c in run.capture_calls)
    assert {r.host for r in run.requests} == {"posthog-verify.invalid"}


def _write_app(root: Path, body: str, extra: dict[str, str] | None = None) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text(body)
    for rel, text in (extra or {}).items():
        (root / "app" / rel).write_text(text)
    return root


APP_A = """
import os
from pathlib import Path
from flask import Flask
from app import only_a

os.environ["LEAKED_BY_A"] = "yes"
Path("a.sqlite").write_text("a's users")

def create_app():
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "a")
    return app
"""
APP_B = """
import json
import os
import sys
from pathlib import Path
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.get("/")
    def index():
        return json.dumps({
            "a_module": "app.only_a" in sys.modules,
            "a_env": os.environ.get("LEAKED_BY_A"),
            "a_db": Path("a.sqlite").exists(),
            "app_from": Path(sys.modules["app"].__file__).parent.parent.name,
        })

    return app
"""


def test_app_b_never_sees_app_a(tmp_path: Path) -> None:
    a = _write_app(tmp_path / "a", APP_A, {"only_a.py": "VALUE = 1\n"})
    b = _write_app(tmp_path / "b", APP_B)
    run_a = verify_in_process(a, name="a")
    run_b = verify_in_process(b, name="b")
    assert run_a.boot_failure is None
    assert run_b.boot_failure is None
    seen = json.loads(run_b.exchanges[0].body_excerpt)
    assert seen == {"a_module": False, "a_env": None, "a_db": False, "app_from": "b"}
    # A wrote its database in its own copy, never in the user's tree.
    assert not (a / "a.sqlite").exists()
    assert "LEAKED_BY_A" not in os.environ


def test_nothing_found_is_a_discovery_failure(tmp_path: Path) -> None:
    run = verify_in_process(tmp_path, name="empty")
    assert run.boot_failure is not None
    assert (run.boot_failure.phase, run.boot_failure.app_raised) == (Phase.DISCOVER, False)
    assert {r.status.value for r in run_checks(run)} == {"error"}
