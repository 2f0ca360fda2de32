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
import typing as t
from pathlib import Path

import pytest

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
    apps: Setting[tuple[Path, ...]]
    report: Setting[Path | None]
    report_md: Setting[Path | None]
    server: Setting[str]
    timeout: Setting[float]
    shard: Setting[Shard | None]
    concurrency: Setting[int]
    #: The app's interpreter (``--posthog-python``), absolute; None: pytest's.
    python: Setting[str | None] = Setting(None, "default")
    #: ``--posthog-install``: an environment per requirements set (:mod:`harness.envs`).
    install: Setting[bool] = Setting(False, "default")


def parse_timeout(text: str) -> float:
    """``--posthog-timeout`` type: seconds per phase, a positive number."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise pytest.UsageError(
            f"--posthog-timeout: expected a positive number of seconds, got {text!r}"
        )
    return value


def parse_shard(text: str) -> Shard:
    """``--posthog-shard`` type: ``K/N`` with 1 <= K <= N."""
    index, _, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = Shard(0, 0)
    if not 1 <= shard.index <= shard.count:
        raise pytest.UsageError(
            f"--posthog-shard: expected K/N with 1 <= K <= N (e.g. 2/4), got {text!r}"
        )
    return shard


def parse_server(text: str) -> str:
    if text not in SERVERS:
        raise pytest.UsageError(
            f"--posthog-server: expected one of {', '.join(SERVERS)}, got {text!r}"
        )
    return text


def parse_concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise pytest.UsageError(f"--posthog-concurrency: expected an integer >= 1, got {text!r}")
    return value


def parse_python(text: str) -> str:
    """``--posthog-python`` type: an existing executable, made absolute."""
    from harness.target.interpreter import InterpreterError
    from harness.target.interpreter import resolve_python

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
    option = config.getoption(dest)
    if option is not None:
        return Setting(option, "option")
    if os.environ.get(env):
        return Setting(parse(os.environ[env]), f"env {env}")
    if config.getini(ini):
        return Setting(parse(str(config.getini(ini))), "ini")
    return Setting(default, "default")


def expand_apps(patterns: t.Iterable[str], base: Path) -> tuple[Path, ...]:
    """Expand globs relative to ``base``; a pattern matching nothing is an error.

    Only folders count: a glob like ``apps/*`` may also match stray files.
    """
    found: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        # Path.glob takes no absolute pattern; glob.glob takes both.
        matches = sorted(Path(p) for p in glob.glob(full) if Path(p).is_dir())  # noqa: PTH207
        if not matches:
            raise pytest.UsageError(f"--posthog-app: {pattern!r} matches no folder (from {base})")
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
            expand_apps(os.environ["POSTHOG_VERIFY_APPS"].split(os.pathsep), base),
            "env POSTHOG_VERIFY_APPS",
        )
    elif ini_apps:
        apps = Setting(expand_apps(ini_apps, config.rootpath), "ini")
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
        server=_pick(
            config,
            "posthog_server",
            "posthog_server",
            "POSTHOG_VERIFY_SERVER",
            parse_server,
            "werkzeug",
        ),
        timeout=_pick(
            config,
            "posthog_timeout",
            "posthog_timeout",
            "POSTHOG_VERIFY_TIMEOUT",
            parse_timeout,
            10.0,
        ),
        shard=_pick(
            config, "posthog_shard", "posthog_shard", "POSTHOG_VERIFY_SHARD", parse_shard, None
        ),
        concurrency=_pick(
            config,
            "posthog_concurrency",
            "posthog_concurrency",
            "POSTHOG_VERIFY_CONCURRENCY",
            parse_concurrency,
            # An app mostly waits (its SDK's retry backoff): 8 in flight keep 2
            # cores busy (bench/run.py, 50 apps with -n 0: 23.7 s at 4, 16.5 s at 8).
            8,
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
