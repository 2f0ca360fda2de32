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
from harness.target.workspace import DEFAULT_LIMIT_BYTES

SERVERS = ("werkzeug", "gunicorn")

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
    workspace_limit: Setting[int] = Setting(DEFAULT_LIMIT_BYTES, "default")
    mock_limit: Setting[int] = Setting(DEFAULT_BUDGET_BYTES, "default")
    env_file: Setting[Path | None] = Setting(None, "default")
    setup_timeout: Setting[float] = Setting(120.0, "default")


def parse_baseline(text: str) -> Path:
    """``--posthog-baseline`` type: the folder of the same app before the integration."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise pytest.UsageError(
            f"--posthog-baseline: {text!r} is not a folder: give the app's folder as it was "
            "before the PostHog integration"
        )
    return path.resolve()


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


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str, flag: str = "--posthog-workspace-limit") -> int:
    """A size in bytes: ``500M``, ``2G``, ``1.5GiB``, ``4096`` (units are binary)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if match is None or float(match[1]) <= 0:
        raise pytest.UsageError(f"{flag}: expected a size such as 500M or 2G, got {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2]])


def parse_mock_limit(text: str) -> int:
    return parse_size(text, "--posthog-mock-limit")


def parse_setup_timeout(text: str) -> float:
    """``--posthog-setup-timeout`` type: seconds per set-up command, a positive number."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise pytest.UsageError(
            f"--posthog-setup-timeout: expected a positive number of seconds, got {text!r}"
        )
    return value


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
        workspace_limit=_pick(
            config,
            "posthog_workspace_limit",
            "posthog_workspace_limit",
            "POSTHOG_VERIFY_WORKSPACE_LIMIT",
            parse_size,
            DEFAULT_LIMIT_BYTES,
        ),
        mock_limit=_pick(
            config,
            "posthog_mock_limit",
            "posthog_mock_limit",
            "POSTHOG_VERIFY_MOCK_LIMIT",
            parse_mock_limit,
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
            parse_setup_timeout,
            120.0,
        ),
    )
