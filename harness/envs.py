"""One cached environment per distinct requirements set (``--posthog-install``).

A team grading 200 agent outputs gets outputs whose requirements differ: one
shared environment would judge some of them with the wrong SDK. Each app's
``requirements.txt`` (else its ``pyproject.toml`` ``[project] dependencies``)
is installed into an environment of its own, built once and cached, keyed by
the requirements' content and the Python version, so 200 outputs with 3
distinct sets cost 3 installs::

    found = requirements_of(Path("outputs/042"))      # None: it declares none
    env = ensure_env(found, base_python=sys.executable)   # InstallError
    env.python, env.cache_hit, env.duration_s

The cache lives in ``$POSTHOG_VERIFY_CACHE``, else ``$XDG_CACHE_HOME/posthog-verify``,
else ``~/.cache/posthog-verify``, one folder per key under ``envs/``; delete it
to start over. Builds of one key are serialised across threads and processes
(xdist workers) by a lock file; an environment counts only once its marker
(``posthog-verify-env.json``) is written, so a build cut short is redone.
uv makes it (``uv venv`` + ``uv pip install``) when installed, else ``venv`` and
pip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import typing as t
from pathlib import Path

from harness.run import Run
from harness.run import SetupCommand

if t.TYPE_CHECKING:
    from collections.abc import Iterator

CACHE_ENV = "POSTHOG_VERIFY_CACHE"
#: Bumped when the way an environment is built changes (2: seeded with pip and,
#: below Python 3.12, setuptools; 3: bytecode compiled at install), so an older
#: cached one is not reused.
ENV_LAYOUT = 3
REQUIREMENTS = "requirements.txt"
#: How an install is named in ``Run.setup`` (the report reads it back).
INSTALL_REASON = "--posthog-install"
REUSED = "cached environment reused"
MARKER = "posthog-verify-env.json"
#: Deadline for one environment's build (a resolver stuck on the network).
INSTALL_TIMEOUT_S = 600.0
_TAIL_CHARS = 4000


class InstallError(Exception):
    """An environment could not be built; ``output`` is the installer's own."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclasses.dataclass(frozen=True)
class Requirements:
    """What an app declares it needs.

    :param source: where it was read, relative to the app (``requirements.txt``).
    :param lines: the requirement specifiers, in order (``-r``/``-c`` lines of a
        requirements file are kept: the installer reads them from ``root``).
    :param extra: added by the harness (``gunicorn`` for ``--posthog-server gunicorn``).
    """

    root: Path
    source: str
    lines: tuple[str, ...]
    extra: tuple[str, ...] = ()

    def with_extra(self, *names: str) -> Requirements:
        return dataclasses.replace(self, extra=tuple(dict.fromkeys((*self.extra, *names))))

    def text(self) -> str:
        return "".join(f"{line}\n" for line in (*self.lines, *self.extra))

    def install_args(self) -> list[str]:
        """What the installer is given: the file itself (its ``-r`` lines are
        relative to it), else the specifiers; the harness's extras after."""
        own = ["-r", str(self.root / self.source)] if self.source == REQUIREMENTS else [*self.lines]
        return [*own, *self.extra]


@dataclasses.dataclass(frozen=True)
class Environment:
    """A ready environment: its interpreter, and what getting it cost."""

    key: str
    path: Path
    python: str
    cache_hit: bool
    duration_s: float
    command: tuple[str, ...]
    output_tail: str = ""


def _requirement_lines(text: str) -> tuple[str, ...]:
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def requirements_of(app_root: Path) -> Requirements | None:
    """The app's requirements, or None when it declares none.

    :raises InstallError: a ``pyproject.toml`` that does not parse.
    """
    app_root = app_root.resolve()  # the installer runs there, reading the file by path
    file = app_root / REQUIREMENTS
    if file.is_file():
        text = file.read_text(encoding="utf-8", errors="replace")
        return Requirements(app_root, REQUIREMENTS, _requirement_lines(text))
    pyproject = app_root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InstallError(f"pyproject.toml: cannot read [project] dependencies: {exc}") from None
    deps = data.get("project", {}).get("dependencies")
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        return None
    return Requirements(app_root, "pyproject.toml [project] dependencies", tuple(deps))


def cache_root() -> Path:
    """Where environments are kept (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "posthog-verify"


@functools.cache
def python_version(python: str) -> str:
    """``X.Y.Z`` of ``python`` (asked once per interpreter)."""
    if Path(python).absolute() == Path(sys.executable).absolute():
        return ".".join(map(str, sys.version_info[:3]))
    try:
        proc = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"cannot run {python} to read its version: {exc}") from None
    return proc.stdout.strip()


def env_key(requirements: Requirements, base_python: str) -> str:
    """Same requirements, same Python: same key. Whitespace and comments do
    not count; order does (a resolver may honour it)."""
    digest = hashlib.sha256()
    digest.update(f"layout {ENV_LAYOUT}\n".encode())  # how an environment is built
    digest.update(f"python {python_version(base_python)}\n".encode())
    digest.update(requirements.text().encode())
    if any(line.startswith(("-", ".", "/")) for line in requirements.lines):
        # Includes, options and local paths are read from the app's folder.
        digest.update(str(requirements.root.resolve()).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # threads too: each has its own open file
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv() -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    with contextlib.suppress(ImportError, FileNotFoundError):
        import uv

        return str(uv.find_uv_bin())
    return None


def _commands(target: Path, requirements: Requirements, base_python: str) -> list[list[str]]:
    """The commands that build ``target``: uv's when it is there, else pip's."""
    python = str(target / "bin" / "python")
    args = requirements.install_args()
    uv = _uv()
    if uv is not None:
        # --seed: pip, and setuptools and wheel below Python 3.12, as
        # ``python -m venv`` gives; an app importing pkg_resources (old Flask
        # extensions do) runs in what its own venv would have had.
        return [
            [uv, "venv", "--quiet", "--seed", "--python", base_python, str(target)],
            # Compiled at install, as pip does: an app's first import in a fresh
            # environment (SQLAlchemy, alembic) otherwise compiles it against
            # the boot deadline, and under load loses.
            [uv, "pip", "install", "--compile-bytecode", "--python", python, *args],
        ]
    return [
        [base_python, "-m", "venv", str(target)],
        [python, "-m", "pip", "install", "--quiet", *args],
    ]


def _run(command: list[str], cwd: Path, deadline: float) -> str:
    left = max(deadline - time.monotonic(), 1.0)
    try:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=left, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{' '.join(command[:3])} did not finish within {left:.0f} s") from exc
    except OSError as exc:
        raise InstallError(f"cannot run {command[0]}: {exc}") from exc
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise InstallError(_resolver_message(output, proc.returncode), output[-_TAIL_CHARS:])
    return output


def _resolver_message(output: str, code: int) -> str:
    """The installer's own words: its error lines, else its last lines."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    # uv marks its error with U+00D7 (a multiplication sign); pip says ERROR.
    marks = ("\u00d7", "error", "ERROR")
    errors = [i for i, line in enumerate(lines) if line.lstrip().startswith(marks)]
    shown = lines[errors[0] : errors[0] + 8] if errors else lines[-8:]
    return f"the installer exited with code {code}: " + " | ".join(s.strip() for s in shown)


def _build(requirements: Requirements, base_python: str, target: Path) -> tuple[str, ...]:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    deadline = time.monotonic() + INSTALL_TIMEOUT_S
    commands = _commands(target / "venv", requirements, base_python)
    output = ""
    try:
        for command in commands:
            output = _run(command, requirements.root, deadline)
    except InstallError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    (target / "install.log").write_text(output, encoding="utf-8")
    return tuple(commands[-1])


def ensure_env(
    requirements: Requirements, base_python: str, cache: Path | None = None
) -> Environment:
    """The environment for ``requirements`` on ``base_python``: reused when
    cached, else built now (once, whoever else asks at the same time).

    :raises InstallError: the installer failed; the message quotes it.
    """
    key = env_key(requirements, base_python)
    target = (cache or cache_root()) / "envs" / key
    started = time.monotonic()
    with _locked(target.with_name(f"{key}.lock")):
        marker = target / MARKER
        if marker.is_file():
            recorded = json.loads(marker.read_text(encoding="utf-8"))
            python = str(target / "venv" / "bin" / "python")
            command = tuple(recorded.get("command", ()))
            return Environment(key, target, python, True, time.monotonic() - started, command)
        command = _build(requirements, base_python, target)
        duration = time.monotonic() - started
        record: dict[str, t.Any] = {"key": key, "source": requirements.source}
        record["command"] = list(command)
        record |= {"requirements": requirements.text(), "install_s": round(duration, 3)}
        marker.write_text(json.dumps(record, indent=1), encoding="utf-8")
    log = (target / "install.log").read_text(encoding="utf-8")[-_TAIL_CHARS:]
    python = str(target / "venv" / "bin" / "python")
    return Environment(key, target, python, False, duration, command, log)


@dataclasses.dataclass(frozen=True)
class Choice:
    """The interpreter an app runs under, why, and the install it cost (if any)."""

    python: str | None  # None: pytest's own
    reason: str
    setup: tuple[SetupCommand, ...] = ()


def choose(
    app_root: Path,
    *,
    option_python: str | None,
    manifest_python: str | None,
    install: bool,
    server: str,
    cache: Path | None = None,
) -> Choice:
    """``--posthog-python``, else the manifest's ``python``, else pytest's;
    with ``--posthog-install``, that interpreter is the base of the app's own
    environment instead.

    :raises InstallError: the app's requirements could not be installed.
    """
    base, reason = option_python, "--posthog-python"
    if base is None and manifest_python is not None:
        base, reason = manifest_python, "the manifest's python"
    if not install:
        return Choice(base, reason if base else "pytest's own")
    requirements = requirements_of(app_root)
    if requirements is None:
        return Choice(base, "--posthog-install: the app declares no requirements")
    if server == "gunicorn":
        requirements = requirements.with_extra("gunicorn")
    env = ensure_env(requirements, base or sys.executable, cache)
    state = REUSED if env.cache_hit else "environment built"
    setup = SetupCommand(
        command=env.command,
        reason=f"{INSTALL_REASON}: {requirements.source} ({state}: {env.key})",
        exit_code=0,
        duration_s=env.duration_s,
        output_tail=env.output_tail,
    )
    return Choice(env.python, f"--posthog-install {env.key}", (setup,))


def environment_of(run: Run) -> dict[str, t.Any] | None:
    """What the app ran with, for the report: the versions the child
    reported, and the ``--posthog-install`` that gave its interpreter."""
    installs = [s for s in run.setup if s.reason.startswith(INSTALL_REASON)]
    if not run.versions and not installs:
        return None
    environment: dict[str, t.Any] = {"versions": dict(run.versions)}
    if run.serving:
        environment["server"] = run.serving
    for setup in installs:
        environment["install"] = {
            "reason": setup.reason,
            "cache_hit": REUSED in setup.reason,
            "duration_s": round(setup.duration_s, 3),
            "command": list(setup.command),
        }
    return environment


def install_summary(environments: t.Iterable[dict[str, t.Any] | None]) -> str | None:
    """One line for the terminal: environments built (and what they took) and
    reused, over the apps' ``environment`` records; None without installs."""
    installs = [e["install"] for e in environments if e and "install" in e]
    if not installs:
        return None
    built = [i for i in installs if not i["cache_hit"]]
    took = sum(float(i["duration_s"]) for i in built)
    return (
        f"--posthog-install: {len(built)} environment(s) built ({took:.1f} s), "
        f"{len(installs) - len(built)} reused from the cache ({cache_root()})"
    )
