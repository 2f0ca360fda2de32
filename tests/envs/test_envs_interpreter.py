"""--posthog-python and the manifest's python: the app's tree runs under that interpreter."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from harness.checks import run_checks
from harness.checks.ids import GUIDANCE_IDS
from harness.subject.interpreter import InterpreterError
from harness.subject.interpreter import is_default
from harness.subject.interpreter import resolve_python
from harness.subject.interpreter import seam_problem
from harness.subject.observations import parse_records
from harness.verdict import Status
from harness.verify import Options
from harness.verify import verify_app
from harness.verify_inprocess import verify_in_process

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "target_apps" / "reference"


def test_resolve_python_is_relative_to_the_app_and_keeps_symlinks(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "python"
    link.symlink_to(sys.executable)
    assert resolve_python("bin/python", tmp_path) == str(link)  # not the link's target


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("missing", "is not a file", id="missing"),
        pytest.param("plain", "is not executable: chmod +x it", id="not-executable"),
    ],
)
def test_resolve_python_says_what_is_wrong(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "plain").write_text("")
    with pytest.raises(InterpreterError) as info:
        resolve_python(name, tmp_path, "posthog-verify.toml python")
    assert str(info.value).startswith("posthog-verify.toml python: ")
    assert expected in str(info.value)


def test_is_default() -> None:
    assert is_default(None)
    assert is_default(sys.executable)
    assert not is_default("/usr/bin/false")


def test_the_seam_refuses_another_schema() -> None:
    other = parse_records([{"type": "runtime", "schema": 2, "executable": "/x/python"}])
    problem = seam_problem(other)
    assert problem is not None
    assert "observation schema 2, this harness reads 1 (/x/python)" in problem
    same = parse_records([{"type": "runtime", "schema": 1, "versions": {"posthog": "7.0.0"}}])
    assert seam_problem(same) is None
    assert same.versions == {"posthog": "7.0.0"}


@pytest.mark.slow
def test_the_app_runs_with_the_interpreters_own_packages(alt_python: str) -> None:
    run = verify_app(REFERENCE, name="reference", options=Options(python=alt_python))
    assert run.boot_failure is None, run.boot_failure
    assert run.versions["flask"] == "2.3.3"
    assert run.versions["posthog"] == "6.0.0"
    # pytest's side kept its own: the app did not see them.
    from importlib.metadata import version

    assert version("posthog") != "6.0.0"


@pytest.mark.slow
def test_the_manifests_python_is_used_relative_to_the_app(alt_python: str, tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(REFERENCE, app)
    (app / ".venv").symlink_to(Path(alt_python).parents[1], target_is_directory=True)
    (app / "posthog-verify.toml").write_text('python = ".venv/bin/python"\n')
    run = verify_app(app, name="app", options=Options())
    assert run.boot_failure is None, run.boot_failure
    assert run.versions["posthog"] == "6.0.0"


def test_a_missing_manifest_python_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(REFERENCE, app)
    (app / "posthog-verify.toml").write_text('python = ".venv/bin/python"\n')
    run = verify_app(app, name="app", options=Options())
    assert run.boot_failure is not None
    assert not run.boot_failure.app_raised
    assert "posthog-verify.toml python: '.venv/bin/python' is not a file" in run.boot_failure.cause
    boots = {r.check_id: r for r in run_checks(run)}["boots"]
    assert boots.status is Status.ERROR


@pytest.mark.slow
def test_an_sdk_below_the_range_is_an_error_naming_version_and_range(old_sdk_python: str) -> None:
    run = verify_app(REFERENCE, name="reference", options=Options(python=old_sdk_python))
    assert run.boot_failure is not None
    assert not run.boot_failure.app_raised
    assert run.boot_failure.cause.startswith(
        "posthog 5.4.0 is outside the range posthog-verify supports (posthog>=6.0, <8)"
    )
    assert run.versions["posthog"] == "5.4.0"
    results = {r.check_id: r for r in run_checks(run)}
    assert {results[c].status for c in GUIDANCE_IDS} == {Status.ERROR}
    assert "posthog 5.4.0" in results["boots"].summary


@pytest.mark.slow
def test_the_app_side_runs_on_the_newest_python(newest_python: str) -> None:
    run = verify_app(REFERENCE, name="reference", options=Options(python=newest_python))
    assert run.versions["python"].startswith("3.13.")
    results = run_checks(run)
    assert {r.status for r in results if r.check_id in GUIDANCE_IDS} == {Status.PASS}, results


class _Alive:
    alive = True


def test_zygotes_for_other_interpreters_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.subject import interpreter

    full = {f"/envs/{n}/bin/python": _Alive() for n in range(interpreter.MAX_ZYGOTES)}
    monkeypatch.setattr(interpreter, "_zygotes", full)
    assert interpreter.zygote_for("/envs/another/bin/python") is None  # spawned instead
    assert interpreter.zygote_for("/envs/0/bin/python") is full["/envs/0/bin/python"]


def test_the_app_side_root_is_made_once_by_threads_racing_on_a_fresh_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apps in flight and the no-env boot ask for it at once on a fresh /tmp;
    a staging name shared by one process's threads made one of them fail."""
    import concurrent.futures
    import tempfile
    import threading
    import typing as t

    from harness.subject.interpreter import app_side_root

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ready = threading.Barrier(8)
    real_symlink_to = Path.symlink_to

    def symlink_to(self: Path, target: t.Any, target_is_directory: bool = False) -> None:
        real_symlink_to(self, target, target_is_directory)
        ready.wait(timeout=5)  # every thread has made its staging link before any renames

    monkeypatch.setattr(Path, "symlink_to", symlink_to)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        roots = list(pool.map(lambda _: app_side_root(), range(8)))
    assert len(set(roots)) == 1
    link = roots[0] / "harness"
    assert link.is_symlink()
    assert (link / "serve.py").is_file()
    assert [p.name for p in roots[0].iterdir()] == ["harness"]


_RECORDER = (
    'python -c "import sys, importlib.metadata as m; '
    "print('set-up ran under', sys.executable, 'with flask', m.version('flask'))\""
)


@pytest.mark.slow
@pytest.mark.parametrize("named_by", ["--posthog-python", "manifest"])
def test_set_up_commands_run_under_the_apps_interpreter(
    alt_python: str, tmp_path: Path, named_by: str
) -> None:
    """A ``python ...`` set-up command runs under the interpreter the app
    runs under, not pytest's: it reports the second combination's Flask."""
    app = tmp_path / "app"
    shutil.copytree(REFERENCE, app)
    manifest = f"[setup]\ncommands = [{json.dumps(_RECORDER)}]\n"  # JSON strings are TOML's
    options, expected = Options(python=alt_python), alt_python
    if named_by == "manifest":
        (app / ".venv").symlink_to(Path(alt_python).parents[1], target_is_directory=True)
        manifest = 'python = ".venv/bin/python"\n' + manifest
        options, expected = Options(), str(app / ".venv" / "bin" / "python")
    (app / "posthog-verify.toml").write_text(manifest)
    run = verify_app(app, name="app", options=options)
    assert run.boot_failure is None, run.boot_failure
    (recorded,) = [s for s in run.setup if s.reason.endswith("[setup] commands")]
    assert recorded.exit_code == 0, recorded.output_tail
    ran_under = recorded.output_tail.split("set-up ran under ", 1)[1].split()
    assert ran_under == [expected, "with", "flask", "2.3.3"]
    assert run.versions["flask"] == "2.3.3"  # and the app itself, as before


@pytest.mark.parametrize("named_by", ["argument", "manifest"])
def test_in_process_refuses_another_interpreter(tmp_path: Path, named_by: str) -> None:
    """In process the app is imported here: judging it with pytest's Flask and
    SDK when it names another interpreter would be a verdict on the wrong app."""
    app = tmp_path / "app"
    shutil.copytree(REFERENCE, app)
    other = tmp_path / "other-python"
    other.symlink_to("/usr/bin/env")  # any executable that is not pytest's interpreter
    python: str | None = str(other)
    if named_by == "manifest":
        (app / "posthog-verify.toml").write_text(f'python = "{other}"\n')
        python = None
    run = verify_in_process(app, name="app", python=python)
    assert run.boot_failure is not None
    assert not run.boot_failure.app_raised
    cause = run.boot_failure.cause
    source = "--posthog-python" if named_by == "argument" else "posthog-verify.toml python"
    assert cause.startswith(f"{source} names {other}, but in-process verification imports")
    assert f"pytest's own interpreter ({sys.executable}:" in cause
    assert "verify it as a server (pytest --posthog-verify, harness.verify.verify_app)" in cause
    assert {r.status for r in run_checks(run)} == {Status.ERROR}
    assert run.exchanges == ()  # nothing was imported or driven


def test_in_process_accepts_pytests_own_interpreter_named(tmp_path: Path) -> None:
    run = verify_in_process(REFERENCE, name="reference", python=sys.executable)
    assert run.boot_failure is None, run.boot_failure
    assert {r.status for r in run_checks(run)} <= {Status.PASS, Status.SKIP}
