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

from harness.capture.store import DEFAULT_BUDGET_BYTES
from harness.subject.workspace import DEFAULT_LIMIT_BYTES

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


def parse_baseline(text: str) -> Path:
    """``--posthog-baseline`` type: the folder of the same app before the integration."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise pytest.UsageError(
            f"--posthog-baseline: {text!r} is not a folder: give the app's folder as it was "
            "before the PostHog integration"
        )
    return path.resolve()


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


def _as_option(flag: str, parse: t.Callable[[str], T]) -> t.Callable[[str], T]:
    """An argparse ``type=`` that names the flag in its usage error."""

    def parse_option(text: str) -> T:
        try:
            return parse(text)
        except BadValue as exc:
            raise pytest.UsageError(f"{flag}: {exc}") from None

    parse_option.__name__ = parse.__name__.lstrip("_")
    return parse_option


parse_timeout = _as_option("--posthog-timeout", _timeout)
parse_shard = _as_option("--posthog-shard", _shard)
parse_server = _as_option("--posthog-server", _server)
parse_concurrency = _as_option("--posthog-concurrency", _concurrency)


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _size(text: str) -> int:
    """A size in bytes: ``500M``, ``2G``, ``1.5GiB``, ``4096`` (units are binary)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if match is None or float(match[1]) <= 0:
        raise BadValue(f"expected a size such as 500M or 2G, got {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2]])


#: Seconds per set-up command: a positive number, read as a phase's deadline is.
_setup_timeout = _timeout


parse_size = _as_option("--posthog-workspace-limit", _size)
parse_mock_limit = _as_option("--posthog-mock-limit", _size)
parse_setup_timeout = _as_option("--posthog-setup-timeout", _setup_timeout)


def parse_python(text: str) -> str:
    """``--posthog-python`` type: an existing executable, made absolute."""
    from harness.subject.interpreter import InterpreterError
    from harness.subject.interpreter import resolve_python

    try:
        return resolve_python(text, Path.cwd())
    except InterpreterError as exc:
        raise pytest.UsageError(str(exc)) from None


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise pytest.UsageError(f"expected true or false, got {text!r}")
    return lowered in ("1", "true", "yes", "on")


def _pick(
    config: pytest.Config, dest: str, ini: str, env: str, parse: t.Callable[[str], T], default: T
) -> Setting[T]:
    """Option, then environment, then ini; a bad value names where it came from."""
    option = config.getoption(dest)
    if option is not None:
        return Setting(option, "option")
    if os.environ.get(env):
        return Setting(_parsed(parse, os.environ[env], f"environment variable {env}"), f"env {env}")
    if config.getini(ini):
        text = str(config.getini(ini))
        return Setting(_parsed(parse, text, f"ini option {ini} ({config.inipath})"), "ini")
    return Setting(default, "default")


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
    return Settings(
        apps=apps,
        report=_pick(
            config, "posthog_report", "posthog_report", "POSTHOG_VERIFY_REPORT", Path, None
        ),
        report_md=_pick(
            config, "posthog_report_md", "posthog_report_md", "POSTHOG_VERIFY_REPORT_MD", Path, None
        ),
        report_html=_pick(
            config,
            "posthog_report_html",
            "posthog_report_html",
            "POSTHOG_VERIFY_REPORT_HTML",
            Path,
            None,
        ),
        server=_pick(
            config,
            "posthog_server",
            "posthog_server",
            "POSTHOG_VERIFY_SERVER",
            _server,
            "werkzeug",
        ),
        timeout=_pick(
            config,
            "posthog_timeout",
            "posthog_timeout",
            "POSTHOG_VERIFY_TIMEOUT",
            _timeout,
            10.0,
        ),
        shard=_pick(config, "posthog_shard", "posthog_shard", "POSTHOG_VERIFY_SHARD", _shard, None),
        concurrency=_pick(
            config,
            "posthog_concurrency",
            "posthog_concurrency",
            "POSTHOG_VERIFY_CONCURRENCY",
            _concurrency,
            # An app mostly waits (its SDK's retry backoff): 8 in flight keep 2
            # cores busy (bench/run.py, 50 apps with -n 0: 23.7 s at 4, 16.5 s at 8).
            8,
        ),
        workspace_limit=_pick(
            config,
            "posthog_workspace_limit",
            "posthog_workspace_limit",
            "POSTHOG_VERIFY_WORKSPACE_LIMIT",
            _size,
            DEFAULT_LIMIT_BYTES,
        ),
        mock_limit=_pick(
            config,
            "posthog_mock_limit",
            "posthog_mock_limit",
            "POSTHOG_VERIFY_MOCK_LIMIT",
            _size,
            DEFAULT_BUDGET_BYTES,
        ),
        # Relative to where pytest runs, as --posthog-app is.
        env_file=_pick(
            config,
            "posthog_env_file",
            "posthog_env_file",
            "POSTHOG_VERIFY_ENV_FILE",
            lambda text: base / text,
            None,
        ),
        setup_timeout=_pick(
            config,
            "posthog_setup_timeout",
            "posthog_setup_timeout",
            "POSTHOG_VERIFY_SETUP_TIMEOUT",
            _setup_timeout,
            120.0,
        ),
        python=_pick(
            config, "posthog_python", "posthog_python", "POSTHOG_VERIFY_PYTHON", parse_python, None
        ),
        install=_pick(
            config,
            "posthog_install",
            "posthog_install",
            "POSTHOG_VERIFY_INSTALL",
            parse_bool,
            False,
        ),
    )


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
