"""How the app's repository says it is served in production (``--posthog-server auto``).

Read, never run: a ``Procfile``'s ``web:`` line, a start script (``boot.sh``,
``start.sh``, ``entrypoint.sh``, ``run.sh``), a ``Dockerfile``'s ``CMD`` or
``ENTRYPOINT``, and ``gunicorn.conf.py`` (its literal top-level assignments,
through :mod:`ast`). The first gunicorn command line found wins; a
``gunicorn.conf.py`` (or the ``-c`` file it names) fills what the line leaves
out. The config file's server hooks (``post_fork``..., :data:`ServePlan.hooks`)
are the exception: the server runs the file where the app runs, as gunicorn
does, and honours them. Nothing that says gunicorn: werkzeug, as before::

    plan = read_serving(Path("my_app"))
    plan.server, plan.workers, plan.preload   # "gunicorn", 3, True
    plan.source                               # "Procfile line 1: web: gunicorn -w 3 ..."

Why it matters: a client built before gunicorn forks (``--preload``, or a
module-level client in the master) has no consumer thread in the workers, so
their events queue and are never sent (posthog-python#290); a one-worker,
not-preloaded server can never show that.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
from pathlib import Path

from harness.serve import GUNICORN_HOOKS
from harness.static.walk import parse

#: More workers than this are served as this many: the defect shows with two.
MAX_WORKERS = 4
#: Worker classes served as named; others (gevent, eventlet, uvicorn's) need
#: packages of their own and are served as gthread, with a note.
WORKER_CLASSES = ("sync", "gthread")
SCRIPTS = ("boot.sh", "start.sh", "entrypoint.sh", "run.sh")
CONFIG = "gunicorn.conf.py"
_ENV_DEFAULT_RE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:-(?P<value>[^}]*)\}$")


@dataclasses.dataclass(frozen=True)
class ServePlan:
    """How to serve the app, and what that was read from.

    :param source: the file, line and text the plan came from ("" when nothing
        said: werkzeug).
    :param notes: what was read but could not be used as is (a worker count
        from the environment, a count capped at :data:`MAX_WORKERS`).
    :param config: the gunicorn config file that defines ``hooks``, relative
        to the app: the server runs it, as gunicorn does, for them.
    :param hooks: the server hooks it defines (``post_fork``...), which are
        honoured (:data:`harness.serve.GUNICORN_HOOKS`).
    """

    server: str = "werkzeug"
    workers: int = 1
    worker_class: str = "sync"
    threads: int = 1
    preload: bool = False
    source: str = ""
    notes: tuple[str, ...] = ()
    config: str = ""
    hooks: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.server == "werkzeug":
            return "werkzeug (nothing in the repository says how it is served)"
        preload = ", --preload" if self.preload else ""
        hooks = f", hooks {', '.join(self.hooks)} from {self.config}" if self.hooks else ""
        return (
            f"gunicorn, {self.workers} worker(s), {self.worker_class}"
            f"{f' x{self.threads} threads' if self.threads > 1 else ''}{preload}{hooks} "
            f"(from {self.source})"
        )


def _number(text: str, what: str, notes: list[str]) -> int | None:
    match = _ENV_DEFAULT_RE.match(text)
    if match:
        notes.append(f"{what} {text}: its default {match['value']!r} used")
        text = match["value"]
    try:
        return int(text)
    except ValueError:
        notes.append(f"{what} {text!r} is not a number: the default kept")
        return None


def _gunicorn_argv(argv: list[str]) -> list[str] | None:
    """The arguments after ``gunicorn`` (or ``python -m gunicorn``), if any."""
    for index, token in enumerate(argv):
        if Path(token).name == "gunicorn":
            return argv[index + 1 :]
        if token == "-m" and index + 1 < len(argv) and argv[index + 1] == "gunicorn":
            return argv[index + 2 :]
    return None


_FLAGS = {
    "-w": "workers",
    "--workers": "workers",
    "-k": "worker_class",
    "--worker-class": "worker_class",
    "--threads": "threads",
    "-c": "config",
    "--config": "config",
}


def _options(args: list[str], notes: list[str]) -> dict[str, object]:
    """gunicorn's command-line options this plan uses (``-w 3``, ``--workers=3``...)."""
    found: dict[str, object] = {}
    index = 0
    while index < len(args):
        token = args[index]
        name, _, inline = token.partition("=")
        if token in ("--preload", "--preload-app"):
            found["preload"] = True
        elif name in _FLAGS:
            value = inline if inline else (args[index + 1] if index + 1 < len(args) else "")
            index += 0 if inline else 1
            key = _FLAGS[name]
            if key in ("workers", "threads"):
                number = _number(value, name, notes)
                if number is not None:
                    found[key] = number
            else:
                found[key] = value
        index += 1
    return found


def _config_file(path: Path, notes: list[str]) -> dict[str, object]:
    """Literal top-level settings of a gunicorn config file (never executed)."""
    try:
        tree = parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError as exc:
        notes.append(f"{path.name} does not parse ({exc.msg}): not used")
        return {}
    names = {"workers": "workers", "worker_class": "worker_class", "threads": "threads"}
    names["preload_app"] = "preload"
    found: dict[str, object] = {}
    hooks = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in GUNICORN_HOOKS
    ]
    if hooks:
        found["hooks"] = tuple(hooks)
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name) or target.id not in names:
            continue
        try:
            found[names[target.id]] = ast.literal_eval(node.value)
        except ValueError:
            notes.append(f"{path.name}: {target.id} is computed, not a literal: the default kept")
    return found


def _command_lines(root: Path) -> list[tuple[str, str]]:
    """(where, command) for every place a start command may be, in order."""
    found: list[tuple[str, str]] = []
    procfile = root / "Procfile"
    if procfile.is_file():
        for number, line in enumerate(procfile.read_text(errors="replace").splitlines(), 1):
            if line.startswith("web:"):
                found.append((f"Procfile line {number}", line[4:].strip()))
    for name in SCRIPTS:
        script = root / name
        if script.is_file():
            for number, line in enumerate(script.read_text(errors="replace").splitlines(), 1):
                stripped = line.strip()
                if "gunicorn" in stripped and not stripped.startswith("#"):
                    found.append((f"{name} line {number}", stripped.removeprefix("exec ")))
    dockerfile = root / "Dockerfile"
    if dockerfile.is_file():
        for number, line in enumerate(dockerfile.read_text(errors="replace").splitlines(), 1):
            word, _, rest = line.strip().partition(" ")
            if word.upper() in ("CMD", "ENTRYPOINT"):
                found.append((f"Dockerfile line {number} ({word.upper()})", rest.strip()))
    return found


def _argv(command: str) -> list[str]:
    """A shell-form or exec-form (JSON array) command as argv."""
    if command.startswith("["):
        try:
            parsed = json.loads(command)
        except ValueError:
            return []
        return [str(p) for p in parsed] if isinstance(parsed, list) else []
    try:
        return shlex.split(command)
    except ValueError:
        return []


def read_serving(root: Path) -> ServePlan:
    """The app's production server as its repository states it."""
    notes: list[str] = []
    settings: dict[str, object] = {}
    source = ""
    for where, command in _command_lines(root):
        args = _gunicorn_argv(_argv(command))
        if args is not None:
            settings, source = _options(args, notes), f"{where}: {command}"
            break
    config_name = str(settings.pop("config", CONFIG))
    config = root / config_name
    if config.is_file():
        from_file = _config_file(config, notes)
        settings = from_file | settings  # the command line overrides the file
        if "hooks" in from_file:  # the server runs the file for them
            settings["config"] = config_name
        source = source or f"{config_name}"
        source += f"; {config_name}" if config_name not in source else ""
    if not source:
        return ServePlan()
    return _plan(settings, source, notes)


def _plan(settings: dict[str, object], source: str, notes: list[str]) -> ServePlan:
    workers = settings.get("workers", 1)
    workers = workers if isinstance(workers, int) and workers > 0 else 1
    if workers > MAX_WORKERS:
        notes.append(f"{workers} workers served as {MAX_WORKERS}")
        workers = MAX_WORKERS
    threads = settings.get("threads", 1)
    worker_class = str(settings.get("worker_class", "sync"))
    if worker_class not in WORKER_CLASSES:
        notes.append(f"worker class {worker_class!r} served as gthread")
        worker_class = "gthread"
    hooks = settings.get("hooks", ())
    return ServePlan(
        server="gunicorn",
        workers=workers,
        worker_class=worker_class,
        threads=threads if isinstance(threads, int) and threads > 0 else 1,
        preload=settings.get("preload") is True,
        source=source,
        notes=tuple(notes),
        config=str(settings.get("config", "")),
        hooks=tuple(str(h) for h in hooks) if isinstance(hooks, tuple) else (),
    )


def server_args(plan: ServePlan) -> tuple[str, ...]:
    """The :mod:`harness.serve` arguments that serve ``plan``."""
    if plan.server != "gunicorn":
        return ()
    args = ["--workers", str(plan.workers), "--worker-class", plan.worker_class]
    args += ["--threads", str(plan.threads), *(["--preload"] if plan.preload else [])]
    # The config file is run (as gunicorn runs it) only for its hooks.
    args += ["--config", plan.config] if plan.hooks else []
    return tuple(args)
