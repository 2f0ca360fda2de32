"""The set-up runner: what a fresh copy needs before it boots, found both ways,
run under a deadline, and a failure told as the app's set-up."""

from __future__ import annotations

import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

from harness.run import Phase
from harness.subject.manifest import load_manifest
from harness.subject.setup import CommandResult
from harness.subject.setup import PlannedCommand
from harness.subject.setup import creates_database
from harness.subject.setup import init_db_command
from harness.subject.setup import prepare
from harness.subject.setup import resolve_argv
from harness.subject.setup import run_setup
from harness.subject.setup import setup_commands
from harness.subject.setup import setup_env
from harness.subject.setup import setup_failure

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


@pytest.mark.parametrize(
    "name",
    ["init-db", "init_db", "initdb", "create-db", "createdb", "create_tables", "setup-database",
     "init-database", "bootstrap-db", "create-schema"],
)  # fmt: skip
def test_names_that_create_the_database(name: str) -> None:
    assert creates_database(name)


@pytest.mark.parametrize(
    "name",
    ["drop-db", "reset-db", "seed", "init", "db", "create-user", "routes", "clear-tables"],
)
def test_names_that_do_not(name: str) -> None:
    assert not creates_database(name)


APP_CLI = {
    "app.py": """
        from flask import Flask
        app = Flask(__name__)

        @app.cli.command("init-db")
        def initialise():
            pass
    """
}
DEFAULT_NAME = {
    "app.py": """
        from flask import Flask
        app = Flask(__name__)

        @app.cli.command()
        def init_db_command():
            pass
    """
}
CLICK_ADDED_ELSEWHERE = {
    "shop/__init__.py": """
        from flask import Flask
        from shop.cli import create_tables

        def create_app():
            app = Flask(__name__)
            app.cli.add_command(create_tables)
            return app
    """,
    "shop/cli.py": """
        import click

        @click.command("create-tables")
        def create_tables():
            pass
    """,
}
NESTED_IN_INIT_APP = {
    "pets/commands.py": """
        import click
        from flask.cli import with_appcontext

        def init_app(app):
            @app.cli.command()
            @with_appcontext
            def create_db():
                click.echo("created")
    """
}
BLUEPRINT_GROUP = {
    "app/admin.py": """
        from flask import Blueprint
        bp = Blueprint("admin", __name__)

        @bp.cli.command("initdb")
        def initdb():
            pass
    """
}
BLUEPRINT_NO_GROUP = {
    "app/admin.py": """
        from flask import Blueprint
        bp = Blueprint("admin", __name__, cli_group=None)

        @bp.cli.command("init-db")
        def initdb():
            pass
    """
}


@pytest.mark.parametrize(
    ("files", "argv", "how"),
    [
        pytest.param(APP_CLI, ("flask", "init-db"), "@app.cli.command in app.py", id="app-cli"),
        pytest.param(DEFAULT_NAME, ("flask", "init-db"), "@app.cli.command", id="function-name"),
        pytest.param(
            CLICK_ADDED_ELSEWHERE,
            ("flask", "create-tables"),
            "@click.command + app.cli.add_command(create_tables) in shop/cli.py",
            id="click-command-added-in-another-module",
        ),
        pytest.param(
            NESTED_IN_INIT_APP, ("flask", "create-db"), "@app.cli.command", id="nested-stacked"
        ),
        pytest.param(BLUEPRINT_GROUP, ("flask", "admin", "initdb"), "@bp.cli", id="blueprint"),
        pytest.param(BLUEPRINT_NO_GROUP, ("flask", "init-db"), "@bp.cli", id="blueprint-no-group"),
    ],
)
def test_init_db_command_is_found_in_the_source(
    tmp_path: Path, files: dict[str, str], argv: tuple[str, ...], how: str
) -> None:
    found = init_db_command(_write(tmp_path, files))
    assert found is not None
    assert found.argv == argv
    assert how in found.reason
    assert found.reason.startswith("the app registers the CLI command")


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {"app.py": "import click\n@click.command('init-db')\ndef init_db(): pass\n"},
            id="click-command-never-added",
        ),
        pytest.param(
            {
                "app.py": "from flask import Flask\napp = Flask(__name__)\n"
                "@app.cli.command('seed')\ndef seed(): pass\n"
            },
            id="a-command-that-does-not-create-the-db",
        ),
        pytest.param({"app.py": "HELP = 'run flask init-db first'\n"}, id="only-a-string"),
        pytest.param(
            {"tests/test_cli.py": "@app.cli.command('init-db')\ndef x(): pass\n"},
            id="in-the-apps-tests",
        ),
    ],
)
def test_no_init_db_command(tmp_path: Path, files: dict[str, str]) -> None:
    assert init_db_command(_write(tmp_path, files)) is None


MIGRATE = {
    "extensions.py": "from flask_migrate import Migrate\n",
    "migrations/env.py": "# alembic\n",
    "migrations/alembic.ini": "",
}


def test_migrations_mean_flask_db_upgrade(tmp_path: Path) -> None:
    root = _write(tmp_path, MIGRATE | APP_CLI)
    (planned,) = setup_commands(root, None)  # migrations win over init-db
    assert planned.argv == ("flask", "db", "upgrade")
    assert "migrations/ found and the app uses Flask-Migrate" in planned.reason


def test_a_migrations_folder_without_flask_migrate_is_not_flask_migrate(tmp_path: Path) -> None:
    root = _write(tmp_path, {"migrations/env.py": "", "app.py": "import sqlalchemy\n"})
    assert setup_commands(root, None) == ()


def test_a_conventional_app_needs_no_set_up(tmp_path: Path) -> None:
    assert setup_commands(_write(tmp_path, {"app.py": "app = 1\n"}), None) == ()


def test_the_manifest_replaces_detection(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        MIGRATE
        | {
            "posthog-verify.toml": """
                [setup]
                commands = ["flask seed --users 'two words'", ["python", "-m", "tool"]]
            """
        },
    )
    planned = setup_commands(root, load_manifest(root))
    assert [p.argv for p in planned] == [
        ("flask", "seed", "--users", "two words"),
        ("python", "-m", "tool"),
    ]
    assert {p.reason for p in planned} == {"posthog-verify.toml [setup] commands"}


def test_an_empty_manifest_list_turns_detection_off(tmp_path: Path) -> None:
    root = _write(tmp_path, MIGRATE | {"posthog-verify.toml": "[setup]\ncommands = []\n"})
    assert setup_commands(root, load_manifest(root)) == ()


def test_flask_and_python_run_under_this_interpreter_behind_the_guard() -> None:
    guard = (sys.executable, "-m", "harness.subject.setup_guard")
    assert resolve_argv(("flask", "db", "upgrade")) == (*guard, "flask", "db", "upgrade")
    assert resolve_argv(("python", "seed.py")) == (*guard, "python", "seed.py")
    assert resolve_argv(("make", "db")) == ("make", "db")


def test_setup_env_points_flask_at_the_same_app() -> None:
    env = setup_env({"PATH": "/bin", "FLASK_APP": "other"}, "shop:create_app")
    assert env["FLASK_APP"] == "shop:create_app"
    assert env["FLASK_SKIP_DOTENV"] == "1"
    assert env["PATH"] == "/bin"


def _py(code: str) -> PlannedCommand:
    return PlannedCommand(("python", "-c", code), "test")


def test_commands_run_in_the_workspace_with_the_apps_env(tmp_path: Path) -> None:
    code = "import os, pathlib; print(os.environ['APP_SETTING'], pathlib.Path.cwd().name)"
    (done,) = run_setup([_py(code)], tmp_path, {"APP_SETTING": "from-env"}, timeout_s=30)
    assert done.exit_code == 0
    assert done.output_tail.strip() == f"from-env {tmp_path.name}"
    assert done.command == ("python", "-c", code)  # as written, not as resolved
    assert setup_failure([done], 30) is None


def test_the_first_failure_stops_the_set_up_and_is_quoted(tmp_path: Path) -> None:
    failing = _py("import sys; print('no such table: user', file=sys.stderr); sys.exit(4)")
    never = _py("open('ran', 'w')")
    done = run_setup([failing, never], tmp_path, {}, timeout_s=30)
    assert [d.exit_code for d in done] == [4]
    assert not (tmp_path / "ran").exists()
    failure = setup_failure(done, 30)
    assert failure is not None
    assert failure.phase is Phase.BOOT
    assert not failure.app_raised  # error on every check, never the integration's fail
    assert failure.cause.startswith("the app's set-up command `python -c ")
    assert "exited with code 4: no such table: user" in failure.cause
    assert "not its PostHog integration" in failure.cause
    assert "[setup] commands" in failure.cause
    assert "no such table: user" in failure.detail


def test_a_command_past_its_deadline_is_killed(tmp_path: Path) -> None:
    hang = _py("import threading; print('waiting', flush=True); threading.Event().wait()")
    (done,) = run_setup([hang], tmp_path, {}, timeout_s=1.0)
    assert done.exit_code is None
    assert "waiting" in done.output_tail
    failure = setup_failure([done], 1.0)
    assert failure is not None
    assert "did not finish within 1 s (killed)" in failure.cause
    assert "--posthog-setup-timeout" in failure.cause


def test_a_missing_program_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    planned = PlannedCommand(("no-such-program-posthog-verify",), "test")
    (done,) = run_setup([planned], tmp_path, {}, timeout_s=5)
    assert done.exit_code is None
    assert "could not start 'no-such-program-posthog-verify'" in done.output_tail


def test_every_command_goes_through_the_runner_seam(tmp_path: Path) -> None:
    seen: list[tuple[tuple[str, ...], Path, dict[str, str], float]] = []

    def runner(
        argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
    ) -> CommandResult:
        seen.append((tuple(argv), cwd, dict(env), timeout_s))
        return CommandResult(0, "sandboxed", 0.5)

    env = setup_env({}, "app:app")
    done = run_setup(
        [PlannedCommand(("flask", "init-db"), "why")], tmp_path, env, timeout_s=7, runner=runner
    )
    assert seen == [(resolve_argv(("flask", "init-db")), tmp_path, env, 7)]
    assert (done[0].exit_code, done[0].output_tail, done[0].reason) == (0, "sandboxed", "why")


def test_nothing_a_set_up_command_sends_leaves_the_machine(tmp_path: Path) -> None:
    """The app's code runs during set-up: PostHog-shaped requests land in the
    mock, anything else off the loopback is refused."""
    from harness.capture import CaptureServer

    code = (
        "import requests\n"
        "r = requests.post('https://us.i.posthog.com/batch/', json={'api_key': 'phc_posthogverify_"
        "test_setup', 'batch': [{'event': 'seeded', 'distinct_id': 'seed'}]})\n"
        "print('posthog', r.status_code)\n"
        "try:\n"
        "    requests.get('https://example.com/', timeout=2)\n"
        "except requests.ConnectionError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    with CaptureServer() as mock:
        env = setup_env({"PATH": "/usr/bin:/bin", "POSTHOG_VERIFY_MOCK_URL": mock.url}, "app:app")
        (done,) = run_setup([_py(code)], tmp_path, env, timeout_s=30)
        events = [e.event for e in mock.store.events()]
    assert done.exit_code == 0, done.output_tail
    assert "posthog 200" in done.output_tail
    assert "refused ConnectionError" in done.output_tail
    assert events == ["seeded"]


def test_python_forms_run_through_the_guard(tmp_path: Path) -> None:
    (tmp_path / "seed.py").write_text("import sys\nprint('script', sys.argv[1:])\n")
    (tmp_path / "seedmod.py").write_text("import sys\nprint('module', sys.argv[1:])\n")
    commands = [
        PlannedCommand(("python", "seed.py", "a"), "t"),
        PlannedCommand(("python", "-m", "seedmod", "b"), "t"),
    ]
    env = setup_env({"PYTHONPATH": str(tmp_path)}, "app:app")
    done = run_setup(commands, tmp_path, env, timeout_s=30)
    assert [(d.exit_code, d.output_tail.strip()) for d in done] == [
        (0, "script ['a']"),
        (0, "module ['b']"),
    ]


OTHER_MODULES_APP = {
    "shop/__init__.py": """
        from flask import Flask

        def create_app():
            return Flask(__name__)
    """,
    "manage.py": """
        import click
        from shop import create_app

        application = create_app()

        @click.command("init-db")
        def init_db_command():
            pass

        application.cli.add_command(init_db_command)
    """,
}


def test_a_command_on_another_modules_app_runs_with_that_app(tmp_path: Path) -> None:
    """Seen in a public app: the factory's app has no init-db; the app object
    ``manage.py`` builds at module level does, so FLASK_APP names that one."""
    found = init_db_command(_write(tmp_path, OTHER_MODULES_APP))
    assert found is not None
    assert found.flask_app == "manage:application"
    assert found.reason.endswith(", on manage:application")
    seen: list[str] = []

    def runner(
        argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
    ) -> CommandResult:
        seen.append(env["FLASK_APP"])
        return CommandResult(0, "", 0.1)

    run_setup([found], tmp_path, setup_env({}, "shop:create_app"), runner=runner)
    assert seen == ["manage:application"]


def test_a_command_registered_inside_a_function_runs_with_the_booted_app(tmp_path: Path) -> None:
    found = init_db_command(_write(tmp_path, CLICK_ADDED_ELSEWHERE))
    assert found is not None
    assert found.flask_app is None


@pytest.mark.parametrize(
    ("rel", "module"),
    [("app.py", "app"), ("shop/__init__.py", "shop"), ("src/shop/cli.py", "shop.cli")],
)
def test_module_names(tmp_path: Path, rel: str, module: str) -> None:
    from harness.subject.setup import _module_name

    assert _module_name(tmp_path / rel, tmp_path) == module


def test_the_import_error_behind_no_such_command_is_quoted(tmp_path: Path) -> None:
    """Seen in a public app: ``flask init-db`` whose app fails to import ends
    with click's "No such command"; the cause is the import, and the fix says so."""
    code = (
        "import sys\n"
        "print('Error: While importing apps, an ImportError was raised:')\n"
        "print('Traceback (most recent call last):')\n"
        "print(\"ModuleNotFoundError: No module named 'flask_login'\")\n"
        "print(\"Error: No such command 'init-db'.\")\n"
        "sys.exit(2)\n"
    )
    failure = setup_failure(run_setup([_py(code)], tmp_path, {}, timeout_s=30), 30)
    assert failure is not None
    assert "exited with code 2: ModuleNotFoundError: No module named 'flask_login'." in (
        failure.cause
    )
    assert f"install the app's requirements in the app's interpreter ({sys.executable}:" in (
        failure.cause
    )


def test_prepare_runs_the_commands_it_is_given_without_reading_the_source_again(
    tmp_path: Path,
) -> None:
    from harness.verify import Subject
    from harness.verify import find

    root = _write(tmp_path, APP_CLI)  # its source asks for flask init-db
    subject = find(root, "app")
    assert isinstance(subject, Subject)
    assert subject.planned_setup == setup_commands(root, None)  # read once, for both boots
    location = subject.location
    seen: list[tuple[str, ...]] = []

    def runner(
        argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
    ) -> CommandResult:
        seen.append(tuple(argv))
        return CommandResult(0, "", 0.0)

    given = (PlannedCommand(("python", "-c", "pass"), "given"),)
    records, failure, _ = prepare(root, None, location, root, {}, runner=runner, commands=given)
    assert (seen, failure) == ([resolve_argv(given[0].argv)], None)
    assert [r.reason for r in records] == ["given"]
    seen.clear()
    prepare(root, None, location, root, {}, runner=runner, commands=())
    assert seen == []  # none given: none run, though the source names one
    prepare(root, None, location, root, {}, runner=runner)
    assert seen == [resolve_argv(("flask", "init-db"))]  # not given: read from the source
