"""Resolve the plugin's settings: command-line option, then environment, then ini.

Each setting remembers where it came from, so ``pytest_report_header`` can say
``posthog-verify: apps target_apps/* (from option)`` (pytest-django does the
same for its settings module)::

    settings = resolve(config)
    settings.apps.value, settings.apps.source
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import typing as t
from pathlib import Path

import pytest

from harness.limits import DEFAULT_BUDGET_BYTES
from harness.limits import DEFAULT_LIMIT_BYTES

SERVERS = ("werkzeug", "gunicorn", "auto")

T = t.TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Setting(t.Generic[T]):
    value: T
    source: str  # "option", "env POSTHOG_VERIFY_X", "ini", "default"


@dataclasses.dataclass(frozen=True)
class Shard:
    """``--posthog-shard K/N``: this job judges the K-th of N shares (1-based)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of a run; :func:`settings_dict` is the JSON report's ``settings``."""

    apps: Setting[tuple[Path, ...]]
    report: Setting[Path | None]
    report_md: Setting[Path | None]
    report_html: Setting[Path | None]
    server: Setting[str]
    timeout: Setting[float]
    shard: Setting[Shard | None]
    concurrency: Setting[int]
    workspace_limit: Setting[int] = Setting(DEFAULT_LIMIT_BYTES, "default")
    mock_limit: Setting[int] = Setting(DEFAULT_BUDGET_BYTES, "default")
    env_file: Setting[Path | None] = Setting(None, "default")
    setup_timeout: Setting[float] = Setting(120.0, "default")
    #: The app's interpreter (``--posthog-python``), absolute; None: pytest's.
    python: Setting[str | None] = Setting(None, "default")
    #: ``--posthog-install``: an environment per requirements set (:mod:`harness.envs`).
    install: Setting[bool] = Setting(False, "default")
    #: ``--posthog-baseline``: the same app before the integration, absolute.
    baseline: Setting[Path | None] = Setting(None, "default")


class BadValue(ValueError):
    """A setting's value is malformed; the message says what was expected.

    It names no option: the caller knows whether the value came from the
    command line, the environment or the ini file, and says so.
    """


def _timeout(text: str) -> float:
    """Seconds per phase, a positive number."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise BadValue(f"expected a positive number of seconds, got {text!r}")
    return value


def _shard(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N."""
    index, _, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = Shard(0, 0)
    if not 1 <= shard.index <= shard.count:
        raise BadValue(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
    return shard


def _server(text: str) -> str:
    if text not in SERVERS:
        raise BadValue(f"expected one of {', '.join(SERVERS)}, got {text!r}")
    return text


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise BadValue(f"expected an integer >= 1, got {text!r}")
    return value


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _size(text: str) -> int:
    """A size in bytes: ``500M``, ``2G``, ``1.5GiB``, ``4096`` (units are binary)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if match is None or float(match[1]) <= 0:
        raise BadValue(f"expected a size such as 500M or 2G, got {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2]])


def _python(text: str) -> str:
    """An existing executable, made absolute (relative to where pytest runs)."""
    from harness.subject.interpreter import InterpreterError
    from harness.subject.interpreter import resolve_python

    try:
        return resolve_python(text, Path.cwd(), source="")
    except InterpreterError as exc:
        raise BadValue(str(exc)) from None


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise BadValue(f"expected true or false, got {text!r}")
    return lowered in ("1", "true", "yes", "on")


def _baseline(text: str) -> Path:
    """The folder of the same app before the integration."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise BadValue(
            f"{text!r} is not a folder: give the app's folder as it was before the "
            "PostHog integration"
        )
    return path.resolve()


@dataclasses.dataclass(frozen=True)
class Option(t.Generic[T]):
    """One setting, declared once: the flag ``--posthog-<name>``, the ini option
    ``posthog_<name>``, the environment variable ``POSTHOG_VERIFY_<NAME>``.

    :param parse: text to value; raises :class:`BadValue` (the caller names
        where the text came from).
    :param switch: a flag that takes no value (given means true).
    :param verify_only: meaningless without ``--posthog-verify`` (a usage error).
    """

    name: str
    parse: t.Callable[[str], T]
    default: T
    help: str
    ini_help: str
    metavar: str = ""
    switch: bool = False
    verify_only: bool = False

    @property
    def flag(self) -> str:
        return "--posthog-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return f"posthog_{self.name}"

    @property
    def env(self) -> str:
        return f"POSTHOG_VERIFY_{self.name.upper()}"

    def parse_argument(self, text: str) -> T:
        """The argparse ``type=``: a bad value is a usage error naming the flag."""
        try:
            return self.parse(text)
        except BadValue as exc:
            raise pytest.UsageError(f"{self.flag}: {exc}") from None


#: Every setting but ``--posthog-verify`` and ``--posthog-app`` (whose globs
#: expand against where they came from: :func:`resolve`), in the order
#: ``--help`` lists them. Help texts say what the option does, then its default.
OPTIONS: tuple[Option[t.Any], ...] = (
    Option(
        "report",
        Path,
        None,
        "write the JSON report (schema in harness/report/schema.json) to PATH.",
        "path of the JSON report",
        metavar="PATH",
        verify_only=True,
    ),
    Option(
        "report_md",
        Path,
        None,
        "write a Markdown summary fit for a pull-request comment to PATH.",
        "path of the Markdown summary",
        metavar="PATH",
        verify_only=True,
    ),
    Option(
        "report_html",
        Path,
        None,
        "write the HTML grade book (one self-contained file: apps x checks) to PATH.",
        "path of the HTML grade book",
        metavar="PATH",
        verify_only=True,
    ),
    Option(
        "server",
        _server,
        "werkzeug",
        "the WSGI server the app runs under: werkzeug (default), gunicorn, or auto "
        "(as the app's Procfile, start script, Dockerfile or gunicorn.conf.py says).",
        "werkzeug, gunicorn or auto",
        metavar="NAME",
    ),
    Option(
        "timeout",
        _timeout,
        10.0,
        "deadline for each phase of an app (boot, each request, stop). Default: 10.",
        "deadline in seconds for each phase",
        metavar="SECONDS",
    ),
    Option(
        "shard",
        _shard,
        None,
        "verify only the K-th of N deterministic shares of the apps (CI matrices).",
        "K/N share of the apps",
        metavar="K/N",
    ),
    Option(
        "concurrency",
        _concurrency,
        # An app mostly waits (its SDK's retry backoff): 8 in flight keep 2
        # cores busy (bench/run.py, 50 apps with -n 0: 23.7 s at 4, 16.5 s at 8).
        8,
        "apps verified at once per process (they mostly wait). Default: 8.",
        "apps verified at once per process",
        metavar="N",
    ),
    Option(
        "workspace_limit",
        _size,
        DEFAULT_LIMIT_BYTES,
        "disk an app's workspace copy may take (500M, 2G). Default: 1G.",
        "disk an app's workspace copy may take",
        metavar="SIZE",
    ),
    Option(
        "mock_limit",
        _size,
        DEFAULT_BUDGET_BYTES,
        "bytes of captured bodies and events the mock keeps per app. Default: 64M.",
        "bytes the mock keeps per app",
        metavar="SIZE",
    ),
    Option(
        "env_file",
        Path,
        None,
        "a dotenv file of settings every app gets (DATABASE_URL, SECRET_KEY...); "
        "{workspace} is the app's copy. An app's manifest [env] wins.",
        "dotenv file of settings every app gets",
        metavar="PATH",
        verify_only=True,
    ),
    Option(
        "setup_timeout",
        _timeout,  # read as a phase's deadline is
        120.0,
        "deadline for each of an app's set-up commands ([setup], flask db upgrade). Default: 120.",
        "deadline in seconds for each set-up command",
        metavar="SECONDS",
    ),
    Option(
        "baseline",
        _baseline,
        None,
        "the same app before the integration: a failure it shares is the environment's.",
        "the app's folder before the integration",
        metavar="PATH",
        verify_only=True,
    ),
    Option(
        "python",
        _python,
        None,
        "the app's interpreter: its process tree runs under it and its site-packages. "
        "Default: the manifest's python, else pytest's.",
        "the app's interpreter",
        metavar="PATH",
    ),
    Option(
        "install",
        _bool,
        False,
        "install each distinct requirements set of the apps once, in a cached "
        "environment (uv, else pip), and run each app in its own.",
        "true: an environment per requirements set",
        switch=True,
    ),
)


def _pick(config: pytest.Config, option: Option[T]) -> Setting[T]:
    """Option, then environment, then ini; a bad value names where it came from."""
    given = config.getoption(option.dest)
    if given is not None:
        return Setting(given, "option")
    env = option.env
    if os.environ.get(env):
        parsed = _parsed(option.parse, os.environ[env], f"environment variable {env}")
        return Setting(parsed, f"env {env}")
    if config.getini(option.dest):
        text = str(config.getini(option.dest))
        where = f"ini option {option.dest} ({config.inipath})"
        return Setting(_parsed(option.parse, text, where), "ini")
    return Setting(option.default, "default")


def _parsed(parse: t.Callable[[str], T], text: str, where: str) -> T:
    try:
        return parse(text)
    except BadValue as exc:
        raise pytest.UsageError(f"{where}: {exc}") from None


def expand_apps(
    patterns: t.Iterable[str], base: Path, *, where: str = "--posthog-app"
) -> tuple[Path, ...]:
    """Expand globs relative to ``base``; a pattern matching nothing is an error
    naming ``where`` the pattern came from.

    Only folders count: a glob like ``apps/*`` may also match stray files.
    """
    found: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        # Path.glob takes no absolute pattern; glob.glob takes both.
        matches = sorted(Path(p) for p in glob.glob(full) if Path(p).is_dir())  # noqa: PTH207
        if not matches:
            raise pytest.UsageError(f"{where}: {pattern!r} matches no folder (from {base})")
        found.extend(m.resolve() for m in matches)
    return tuple(dict.fromkeys(found))


def resolve(config: pytest.Config) -> Settings:
    """Every setting with its source: option, then env, then ini, then default."""
    base = Path(config.invocation_params.dir)
    apps_option: list[str] | None = config.getoption("posthog_apps")
    ini_apps: list[str] = config.getini("posthog_apps")
    if apps_option:
        apps = Setting(expand_apps(apps_option, base), "option")
    elif os.environ.get("POSTHOG_VERIFY_APPS"):
        apps = Setting(
            expand_apps(
                os.environ["POSTHOG_VERIFY_APPS"].split(os.pathsep),
                base,
                where="environment variable POSTHOG_VERIFY_APPS",
            ),
            "env POSTHOG_VERIFY_APPS",
        )
    elif ini_apps:
        where = f"ini option posthog_apps ({config.inipath})"
        apps = Setting(expand_apps(ini_apps, config.rootpath, where=where), "ini")
    else:
        apps = Setting((config.rootpath,), "default")
    picked = {option.name: _pick(config, option) for option in OPTIONS}
    env_file = picked["env_file"]
    if env_file.value is not None and env_file.source != "option":
        # Relative to where pytest runs, as --posthog-app is (an option's path
        # already is, and is shown as typed).
        picked["env_file"] = Setting(base / env_file.value, env_file.source)
    return Settings(apps=apps, **picked)


def settings_dict(settings: Settings, *, base: Path | None = None) -> dict[str, t.Any]:
    """``{name: {"value": ..., "source": ...}}``, values as JSON-able text or numbers.

    :param base: paths under it are shown relative to it (where pytest ran).
    """
    out: dict[str, t.Any] = {}
    for field in dataclasses.fields(settings):
        setting: Setting[t.Any] = getattr(settings, field.name)
        out[field.name] = {"value": _jsonable(setting.value, base), "source": setting.source}
    return out


def _jsonable(value: t.Any, base: Path | None) -> t.Any:
    if isinstance(value, tuple):
        return [_jsonable(v, base) for v in value]
    if isinstance(value, Path):
        if base is not None and value.is_relative_to(base):
            return str(value.relative_to(base)) or "."
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
