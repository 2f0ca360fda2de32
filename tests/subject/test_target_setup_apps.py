"""The apps that need something on their first run, verified end to end: their
set-up ran (or its failure is everyone's ``error``), their settings reached
them, their src/ layout imported, their forms were found where they are."""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

import pytest

from harness.checks import not_applicable
from harness.checks import run_checks
from harness.checks.ids import GUIDANCE_IDS
from harness.verdict import Status
from harness.verify import Options
from harness.verify import verify_app

if t.TYPE_CHECKING:
    from harness.run import Run

pytestmark = pytest.mark.slow
TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"


def _verdicts(run: Run) -> dict[str, tuple[str, str]]:
    """The guidance checks' verdicts (the claim checks skip: nothing to compare)."""
    return {
        r.check_id: (r.status.value, r.summary)
        for r in run_checks(run)
        if r.check_id in GUIDANCE_IDS
    }


def _copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(TARGET_APPS / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _identified(run: Run, event: str) -> list[str]:
    """Distinct ids of the captured ``event``s as on the wire, once per uuid
    (the stop fault makes the SDK send its last batch twice)."""
    unique = {e.uuid: e for e in run.events if e.event == event}
    return [e.distinct_id for e in unique.values()]


def test_migrations_run_before_the_boot() -> None:
    run = verify_app(TARGET_APPS / "setup_migrations", name="setup_migrations")
    (setup,) = run.setup
    assert setup.command == ("flask", "db", "upgrade")
    assert setup.exit_code == 0
    assert "Running upgrade  -> 9d6ce41fb828, member table" in setup.output_tail
    assert "Flask-Migrate" in setup.reason
    signup = [x for x in run.exchanges if x.step == "signup" and x.method == "POST"]
    assert [x.status for x in signup] == [302]
    assert _identified(run, "member_registered") == ["1"]
    assert {s for s, _ in _verdicts(run).values()} == {"pass"}


def test_without_its_set_up_the_same_app_cannot_sign_up(tmp_path: Path) -> None:
    """``[setup] commands = []`` turns detection off: the signup's 500 is the
    missing table, which is why the set-up runs."""
    root = _copy("setup_migrations", tmp_path)
    (root / "posthog-verify.toml").write_text("[setup]\ncommands = []\n")
    run = verify_app(root, name="no_setup")
    assert run.setup == ()
    signup = [x for x in run.exchanges if x.step == "signup" and x.method == "POST"]
    assert [x.status for x in signup] == [500]
    assert "no such table: member" in (run.process.stderr_tail if run.process else "")


def test_the_init_db_command_found_in_the_source_runs(tmp_path: Path) -> None:
    run = verify_app(TARGET_APPS / "setup_init_db", name="setup_init_db")
    (setup,) = run.setup
    assert setup.command == ("flask", "init-db")
    assert (setup.exit_code, setup.output_tail.strip()) == (0, "database ready")
    assert "app.cli.add_command(init_db) in commands.py" in setup.reason
    assert _identified(run, "account_created") == ["1"]
    assert {s for s, _ in _verdicts(run).values()} == {"pass"}


def test_a_failing_set_up_is_error_on_every_check_quoting_it(tmp_path: Path) -> None:
    root = _copy("setup_init_db", tmp_path)
    (root / "posthog-verify.toml").write_text(
        '[setup]\ncommands = ["flask init-db", "flask no-such-command"]\n'
    )
    run = verify_app(root, name="bad_setup")
    assert [(s.command, s.exit_code) for s in run.setup] == [
        (("flask", "init-db"), 0),
        (("flask", "no-such-command"), 2),
    ]
    assert "No such command 'no-such-command'" in run.setup[1].output_tail
    assert run.exchanges == ()  # nothing was booted
    verdicts = {r.check_id: (r.status.value, r.summary) for r in run_checks(run)}
    unjudgeable = not_applicable(run)  # no report, plan or baseline: skip, whatever the set-up did
    assert {verdicts[c][0] for c in unjudgeable} == {Status.SKIP.value}
    judged = {c: v for c, v in verdicts.items() if c not in unjudgeable}
    assert {status for status, _ in judged.values()} == {Status.ERROR.value}
    summary = verdicts["identify_on_signup"][1]
    assert "`flask no-such-command` (posthog-verify.toml [setup] commands)" in summary
    assert "exited with code 2: Error: No such command 'no-such-command'." in summary
    assert "It is the app's set-up, not its PostHog integration" in summary


def test_src_layout_imports_from_src_with_the_manifest_setting() -> None:
    run = verify_app(TARGET_APPS / "src_layout_env", name="src_layout_env")
    assert run.boot_failure is None
    assert run.app.target == "ledger:create_app"
    # {workspace} was the copy's path: the database was written there, not here
    assert not (TARGET_APPS / "src_layout_env" / "ledger.sqlite3").exists()
    assert _identified(run, "person_registered") == ["1"]
    assert {s for s, _ in _verdicts(run).values()} == {"pass"}


def test_without_the_setting_the_boot_is_an_error_naming_it(tmp_path: Path) -> None:
    root = _copy("src_layout_env", tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("# posthog-verify")[0])
    verdicts = _verdicts(verify_app(root, name="no_setting"))
    assert verdicts["boots"][0] == "error"
    assert "'LEDGER_DATABASE'" in verdicts["boots"][1]


def test_the_env_file_gives_the_setting_instead(tmp_path: Path) -> None:
    root = _copy("src_layout_env", tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("# posthog-verify")[0])
    options = Options(app_env={"LEDGER_DATABASE": "{workspace}/from-env-file.db"})
    run = verify_app(root, name="env_file", options=options)
    assert run.boot_failure is None
    assert not (root / "from-env-file.db").exists()  # written in the copy
    assert _verdicts(run)["identify_on_signup"][0] == "pass"


def test_login_on_the_landing_page_is_found_by_the_crawl() -> None:
    run = verify_app(TARGET_APPS / "login_on_landing", name="login_on_landing")
    posts = [(x.step, x.path, x.status) for x in run.exchanges if x.method == "POST"]
    assert posts == [
        ("signup", "/members/new", 302),
        ("api_action", "/members/posts", 302),
        ("login", "/", 302),
    ]
    assert "login" not in run.steps_skipped
    assert _identified(run, "member_entered") == ["1"]
    verdicts = _verdicts(run)
    assert verdicts["identify_on_login"] == ("pass", verdicts["identify_on_login"][1])
    assert {s for s, _ in verdicts.values()} == {"pass"}


def test_the_set_up_runs_once_and_the_no_env_boot_gets_its_database(tmp_path: Path) -> None:
    """The no-env boot's workspace is cloned after the set-up ran in the main
    one: the command runs once (a second run was a second interpreter
    importing the app), and the database it made is there for both boots."""
    app = _copy("setup_init_db", tmp_path)
    commands = app / "commands.py"
    commands.write_text(
        commands.read_text()
        .replace(
            '    click.echo("database ready")',
            '    with open(os.environ["SETUP_COUNT"], "a") as log:\n'
            '        log.write("ran\\n")\n'
            '    click.echo("database ready")',
        )
        .replace("import sqlite3\n", "import os\nimport sqlite3\n", 1)
    )
    server = app / "server.py"  # its landing page now needs the table too
    server.write_text(
        server.read_text().replace(
            '    track("landing_viewed")\n',
            '    track("landing_viewed")\n'
            '    db().execute("SELECT count(*) FROM accounts").fetchone()\n',
        )
    )
    count = tmp_path / "setup-count.txt"
    run = verify_app(
        app, name="setup_init_db", options=Options(app_env={"SETUP_COUNT": str(count)})
    )
    assert count.read_text() == "ran\n"
    assert [s.exit_code for s in run.setup] == [0]
    assert run.no_env_boot is not None
    assert (run.no_env_boot.served, run.no_env_boot.status) == (True, 200)
    assert {s for s, _ in _verdicts(run).values()} == {"pass"}
