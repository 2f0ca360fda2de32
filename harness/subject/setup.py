"""The app's own set-up, run in its workspace copy before it boots.

A fresh copy of an app has no database: an app that needs its migrations
(``flask db upgrade``) or an init command (``flask init-db``) answers 500 to
its first signup, which would read as the integration's fault. So, before the
boot, the commands the app needs are run in the copy, under the same
environment the app gets, each with a deadline::

    planned = setup_commands(Path("my_app"), manifest)   # what to run, and why
    records = run_setup(planned, workspace, env, timeout_s=60.0)
    failure = setup_failure(records)                      # a BootFailure, or None

Where the commands come from, first match wins:

1. the manifest's ``[setup] commands = [...]`` (``commands = []`` runs
   nothing): each a string (split like a shell would, but run without one) or
   an argv list;
2. zero-config: a Flask-Migrate ``migrations/`` folder (``migrations/env.py``,
   and the source imports ``flask_migrate``) means ``flask db upgrade``;
   otherwise a Flask CLI command the app registers whose name says it creates
   the database (``init-db``, ``create-tables``, ``initdb``...) means that
   command. Migrations win when both are there: they create the same tables.

``flask`` and ``python`` as a command's first word run under the interpreter
the app runs under (``--posthog-python``, the manifest's ``python``, or the
``--posthog-install`` environment; pytest's own otherwise), behind the harness's network guard
(:mod:`harness.subject.setup_guard`), with ``FLASK_APP`` set to the app's
target, so ``flask ...`` finds the same app the harness boots.

Every subprocess goes through :func:`run_command`, the one seam a sandboxed
runner replaces (see its docstring).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import itertools
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import harness
from harness.run import BootFailure
from harness.run import Phase
from harness.run import SetupCommand
from harness.static.walk import iter_source_files
from harness.static.walk import parse_file
from harness.subject.manifest import expand_env

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from harness.subject.discovery import AppLocation
    from harness.subject.manifest import Manifest

#: Seconds each set-up command may run (``--posthog-setup-timeout``).
DEFAULT_TIMEOUT_S = 120.0
_TAIL_CHARS = 2000
_CREATE_WORDS = frozenset({"init", "initialize", "initialise", "create", "setup", "bootstrap"})
_DB_WORDS = frozenset({"db", "database", "tables", "table", "schema"})
_FUSED = frozenset({"initdb", "createdb", "setupdb", "inittables", "createtables"})
_DESTRUCTIVE = frozenset({"drop", "reset", "destroy", "delete", "clear", "wipe"})


@dataclasses.dataclass(frozen=True)
class PlannedCommand:
    """A set-up command to run, and why (shown in reports).

    :param flask_app: ``FLASK_APP`` for this command when it is not the app the
        harness boots: a command registered at module level on the app object
        of another module (``apps.py``: ``apps = create_app()``,
        ``apps.cli.add_command(init_db)``) exists only on that object.
    """

    argv: tuple[str, ...]
    reason: str
    flask_app: str | None = None


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """What one subprocess did. ``exit_code`` is None when it was killed at its deadline."""

    exit_code: int | None
    output: str
    duration_s: float


class Runner(t.Protocol):
    """The shape of :func:`run_command`, for a replacement runner."""

    def __call__(
        self, argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
    ) -> CommandResult: ...


def sandboxed_runner(log_dir: Path) -> Runner:
    """A :class:`Runner` that runs each command under the app's own isolation
    (:func:`harness.subject.sandbox.run_sandboxed`: loopback only, and nothing it
    starts outlives it), its output logged in ``log_dir``."""
    from harness.subject.sandbox import run_sandboxed

    count = itertools.count()

    def run(
        argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
    ) -> CommandResult:
        started = time.monotonic()
        log = log_dir / f"setup-{next(count)}.log"
        code, tail = run_sandboxed(argv, cwd, env, timeout_s, log)
        return CommandResult(code, tail, time.monotonic() - started)

    return run


def run_command(
    argv: t.Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float
) -> CommandResult:
    """Run one set-up command: the seam every set-up subprocess goes through.

    A sandboxed runner (the app's network and PID namespaces) takes the same
    arguments and returns the same record; pass it to :func:`run_setup` as
    ``runner``. This one runs ``argv`` in its own process group, stdin closed,
    stdout and stderr merged; past ``timeout_s`` the whole group is killed.

    :param argv: the command, already resolved (``sys.executable -m flask ...``).
    :param env: the whole environment of the command.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return CommandResult(None, f"could not start {argv[0]!r}: {exc}", 0.0)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # nothing it started outlives it
    text = out.decode("utf-8", "replace")
    return CommandResult(code, text, time.monotonic() - started)


def resolve_argv(argv: t.Sequence[str], python: str | None = None) -> tuple[str, ...]:
    """``flask``/``python`` commands run under the app's interpreter (not
    whatever the PATH holds), through :mod:`harness.subject.setup_guard`, which
    installs the network guard first; another program runs as it is.

    :param python: the app's interpreter (``--posthog-python``, the manifest's
        ``python``, the ``--posthog-install`` environment's); None: pytest's own.
    """
    if argv[0] in ("flask", "python", "python3"):
        return (python or sys.executable, "-m", "harness.subject.setup_guard", *argv)
    return tuple(argv)


def setup_env(base: Mapping[str, str], flask_app: str) -> dict[str, str]:
    """The app's environment (its import root on ``PYTHONPATH`` already) plus
    what ``flask ...`` needs to find the same app the harness boots.

    :param flask_app: the target as ``FLASK_APP`` spells it (``app:create_app``).
    """
    # FLASK_SKIP_DOTENV: the harness decides the environment, not the app's .env.
    env = dict(base) | {"FLASK_APP": flask_app, "FLASK_SKIP_DOTENV": "1"}
    # The guard's entry imports the harness, installed or not; the app's own
    # modules come first.
    harness_root = str(Path(harness.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), harness_root) if p)
    return env


def run_setup(
    commands: t.Sequence[PlannedCommand],
    workspace: Path,
    env: Mapping[str, str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    runner: Runner = run_command,
    python: str | None = None,
) -> tuple[SetupCommand, ...]:
    """Run ``commands`` in order in ``workspace``; stop at the first that fails.

    :param env: the environment the app boots with (see :func:`setup_env`).
    :param runner: :func:`run_command` or a sandboxed replacement.
    :param python: the app's interpreter (see :func:`resolve_argv`).
    """
    done: list[SetupCommand] = []
    for planned in commands:
        own = dict(env) | ({"FLASK_APP": planned.flask_app} if planned.flask_app else {})
        outcome = runner(resolve_argv(planned.argv, python), workspace, own, timeout_s)
        done.append(
            SetupCommand(
                command=planned.argv,
                reason=planned.reason,
                exit_code=outcome.exit_code,
                duration_s=round(outcome.duration_s, 3),
                output_tail=outcome.output[-_TAIL_CHARS:],
            )
        )
        if outcome.exit_code != 0:
            break
    return tuple(done)


def setup_failure(
    records: t.Sequence[SetupCommand], timeout_s: float, python: str | None = None
) -> BootFailure | None:
    """The failed set-up command as a boot failure the harness does not blame
    on the integration (``error`` on every check), or None when all succeeded.

    :param python: the interpreter the commands ran under (None: pytest's own).
    """
    failed = next((r for r in records if r.exit_code != 0), None)
    if failed is None:
        return None
    shown = shlex.join(failed.command)
    last = _telling_line(failed.output_tail)
    if failed.exit_code is None:
        what = f"did not finish within {timeout_s:g} s (killed)"
        fix = "raise --posthog-setup-timeout, or make the command faster"
    else:
        what = f"exited with code {failed.exit_code}"
        fix = "fix the command or the settings it needs ([env] or --posthog-env-file)"
    if last.startswith("ModuleNotFoundError"):
        fix = (
            f"install the app's requirements in the app's interpreter ({python or sys.executable}:"
            " pip install -r requirements.txt there), or pass --posthog-install"
        )
    cause = (
        f"the app's set-up command `{shown}` ({failed.reason}) {what}"
        + (f": {last.rstrip('.')}" if last else "")
        + f". It is the app's set-up, not its PostHog integration: {fix}, or name the "
        "commands in posthog-verify.toml [setup] commands = [...] (commands = [] runs none)."
    )
    return BootFailure(Phase.BOOT, cause, app_raised=False, detail=failed.output_tail)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*:")


def _telling_line(output: str) -> str:
    """The line that says why: the last exception line of a traceback
    (``ModuleNotFoundError: No module named 'x'``), else the last line.
    A CLI's "No such command" after a failed import hides the import error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    raised = [ln for ln in lines if _EXCEPTION_LINE.match(ln)]
    return raised[-1] if raised else (lines[-1] if lines else "")


# -- preparing a workspace: settings, import root, set-up -----------------------


def app_settings(
    manifest: Manifest | None, shared: Mapping[str, str], workspace: Path
) -> dict[str, str]:
    """The app's own settings: ``shared`` (the env file's), then its manifest's
    ``[env]`` (which wins), ``{workspace}`` expanded to this copy's path."""
    values = dict(shared) | (manifest.env if manifest else {})
    return {name: expand_env(value, workspace.resolve()) for name, value in values.items()}


def import_root_in(root: Path, location: AppLocation, workspace: Path) -> Path | None:
    """A ``src/`` layout's import root inside the workspace (None: the root itself)."""
    root, found = Path(root).resolve(), location.import_root.resolve()
    if found == root or not found.is_relative_to(root):
        return None
    return workspace.resolve() / found.relative_to(root)


def flask_app(location: AppLocation) -> str:
    """The target as ``FLASK_APP`` spells it, a factory's literal arguments included."""
    return location.target + (f"({location.call_args})" if location.call_args else "")


def prepare(
    root: Path,
    manifest: Manifest | None,
    location: AppLocation,
    workspace: Path,
    env: Mapping[str, str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    runner: Runner = run_command,
    python: str | None = None,
    commands: tuple[PlannedCommand, ...] | None = None,
) -> tuple[tuple[SetupCommand, ...], BootFailure | None, dict[str, str]]:
    """Everything the workspace needs before the boot, in one call.

    :param env: the environment the app boots with (its settings and the
        injected PostHog variables included).
    :param python: the app's interpreter, the set-up commands' too.
    :param commands: :func:`setup_commands` of ``root``, when the caller has
        them already (both boots of an app share one reading of its source).
    :returns: the set-up commands run, the failure that stops the boot (or
        None), and ``env`` with the import root on ``PYTHONPATH``.
    """
    env = dict(env)
    import_root = import_root_in(root, location, workspace)
    if import_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(import_root), env.get("PYTHONPATH"))))
    if commands is None:
        commands = setup_commands(Path(root), manifest)
    if not commands:
        return (), None, env
    child_env = setup_env(env, flask_app(location))
    records = run_setup(
        commands, workspace, child_env, timeout_s=timeout_s, runner=runner, python=python
    )
    return records, setup_failure(records, timeout_s, python), env


# -- zero-config: what a conventional app needs --------------------------------


def setup_commands(root: Path, manifest: Manifest | None) -> tuple[PlannedCommand, ...]:
    """The commands to run before the boot, each with the reason; see the module docs."""
    if manifest is not None and manifest.setup is not None:
        reason = f"{manifest.label} [setup] commands"
        return tuple(PlannedCommand(tuple(argv), reason) for argv in manifest.setup)
    migrations = _migrations(root)
    if migrations is not None:
        return (migrations,)
    init = init_db_command(root)
    return (init,) if init is not None else ()


def _migrations(root: Path) -> PlannedCommand | None:
    """Flask-Migrate's layout: ``migrations/env.py``, and the source uses it."""
    if not (root / "migrations" / "env.py").is_file():
        return None
    uses = any(_imports(path, "flask_migrate") for path in iter_source_files(root))
    if not uses:
        return None
    reason = "migrations/ found and the app uses Flask-Migrate: its tables come from the migrations"
    return PlannedCommand(("flask", "db", "upgrade"), reason)


def _imports(path: Path, module: str) -> bool:
    tree = _parse(path)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == module for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == module:
            return True
    return False


def _parse(path: Path) -> ast.Module | None:
    try:
        return parse_file(path)
    except (SyntaxError, ValueError, OSError):
        return None


def creates_database(name: str) -> bool:
    """Whether a CLI command's name says it creates the database:
    ``init-db``, ``init_db``, ``create-db``, ``initdb``, ``create_tables``...
    (a name that also says drop/reset is left alone)."""
    words = [w for w in name.replace("_", "-").lower().split("-") if w]
    fused = "".join(words)
    if set(words) & _DESTRUCTIVE:
        return False
    return fused in _FUSED or bool(set(words) & _CREATE_WORDS and set(words) & _DB_WORDS)


def init_db_command(root: Path) -> PlannedCommand | None:
    """A CLI command the app registers whose name says it creates the database."""
    # Each tree walked once: the three scans below read the same list of nodes.
    sources = [
        (path, tree, list(ast.walk(tree)))
        for path in iter_source_files(root)
        if (tree := _parse(path))
    ]
    # ``app.cli.add_command(fn)`` is often in another module than ``fn``.
    added = {
        name: found
        for path, tree, nodes in sources
        for name, found in _added_commands(tree, nodes, _module_name(path, root)).items()
    }
    for path, tree, nodes in sources:
        for argv, how, flask_app in _cli_commands(tree, nodes, added, _module_name(path, root)):
            if creates_database(argv[-1]):
                where = path.relative_to(root).as_posix()
                reason = f"the app registers the CLI command {' '.join(argv)!r} ({how} in {where})"
                if flask_app:
                    reason += f", on {flask_app}"
                return PlannedCommand(("flask", *argv), reason, flask_app)
    return None


def _module_name(path: Path, root: Path) -> str:
    """``src/shop/cli.py`` -> ``shop.cli`` (a ``src/`` folder is an import root)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[:1] == ["src"] and not (root / "src" / "__init__.py").is_file():
        parts = parts[1:]
    if parts[-1:] == ["__init__"]:
        parts = parts[:-1]
    return ".".join(parts)


def _cli_commands(
    tree: ast.Module,
    nodes: list[ast.AST],
    added: dict[str, tuple[str, str | None]],
    module: str,
) -> t.Iterator[tuple[tuple[str, ...], str, str | None]]:
    """``(argv after flask, how it is registered, FLASK_APP or None)`` for each
    command a module registers: ``@app.cli.command("x")``, ``@bp.cli.command("x")``
    (under the blueprint's group), ``@click.command("x")`` + ``app.cli.add_command(fn)``.
    A command registered at module level on a module-level app object belongs
    to that object (``module:app``); one registered inside a function (a
    factory, an ``init_app``) to whatever app the function is given: None."""
    groups = _blueprint_groups(nodes)
    top_level = {id(node) for node in tree.body}
    for node in nodes:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            if not (isinstance(func, ast.Attribute) and func.attr == "command"):
                continue
            name = _command_name(call, node.name)
            owner = func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "cli":
                app = owner.value.id if isinstance(owner.value, ast.Name) else None
                group = groups.get(app) if app else None
                argv = (group, name) if group else (name,)
                on_app = app if app and app not in groups and id(node) in top_level else None
                yield argv, f"@{ast.unparse(func)}", f"{module}:{on_app}" if on_app else None
            elif isinstance(owner, ast.Name) and owner.id == "click" and node.name in added:
                how, flask_app = added[node.name]
                yield (name,), f"@click.command + {how}", flask_app


def _command_name(call: ast.Call | None, function: str) -> str:
    """The name click gives a command: the literal, else the function's name
    with underscores as dashes and a ``_command``/``_cmd`` suffix dropped."""
    if call is not None:
        given: list[ast.expr] = [
            *call.args[:1],
            *(k.value for k in call.keywords if k.arg == "name"),
        ]
        for value in given:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    for suffix in ("_command", "_cmd"):
        function = function.removesuffix(suffix)
    return function.replace("_", "-")


def _blueprint_groups(nodes: list[ast.AST]) -> dict[str, str | None]:
    """``bp = Blueprint("auth", ...)``: its commands sit under ``flask auth ...``
    unless ``cli_group=None`` (or another group name) says otherwise."""
    groups: dict[str, str | None] = {}
    for node in nodes:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        func = node.value.func
        named = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if named != "Blueprint":
            continue
        group = next((a.value for a in node.value.args[:1] if isinstance(a, ast.Constant)), None)
        for keyword in node.value.keywords:
            if keyword.arg == "cli_group" and isinstance(keyword.value, ast.Constant):
                group = keyword.value.value
        for target in node.targets:
            if isinstance(target, ast.Name):
                groups[target.id] = group if isinstance(group, str) else None
    return groups


def _added_commands(
    tree: ast.Module, nodes: list[ast.AST], module: str
) -> dict[str, tuple[str, str | None]]:
    """Functions passed to ``<x>.cli.add_command(fn)``: the call's text, and
    ``module:x`` when the call is a module-level statement on a name."""
    top_level = {id(stmt.value) for stmt in tree.body if isinstance(stmt, ast.Expr)}
    added: dict[str, tuple[str, str | None]] = {}
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "add_command" and node.args and isinstance(node.args[0], ast.Name):
            cli = node.func.value
            app = cli.value if isinstance(cli, ast.Attribute) and cli.attr == "cli" else None
            on_app = app.id if isinstance(app, ast.Name) and id(node) in top_level else None
            added[node.args[0].id] = (ast.unparse(node), f"{module}:{on_app}" if on_app else None)
    return added
