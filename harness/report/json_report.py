"""The JSON report: build it from app records, write it atomically, load it back.

The shape is ``schema.json`` beside this module (``schema_version`` "1")::

    report = build_report(apps, versions=current_versions())
    write_report(report, Path("out/posthog-verify.json"))
    again = load_report(Path("out/posthog-verify.json"))
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.resources
import json
import os
import platform
import tempfile
import typing as t
from pathlib import Path

from harness.report.model import AppReport
from harness.report.model import Totals

SCHEMA_VERSION = "2"
#: Versions this harness reads: 2 added settings, grades, severities and each
#: app's facts (discovery, steps, isolation, connections, versions), all optional
#: on read, so a version 1 report still loads and merges.
READABLE_VERSIONS = ("1", "2")
# The keys of ``versions`` and the report fields they fill.
VERSION_FIELDS = {
    "harness": "harness_version",
    "posthog": "posthog_version",
    "python": "python_version",
}


class ShardLike(t.Protocol):
    """``harness.settings.Shard`` or any record with a 1-based ``index`` and a ``count``."""

    @property
    def index(self) -> int: ...

    @property
    def count(self) -> int: ...


class ReportError(ValueError):
    """A file or dict is not a posthog-verify report this version can read."""


def current_versions() -> dict[str, str]:
    """The versions of this process: the harness, the posthog SDK, Python."""
    from harness import __version__

    try:
        posthog_version = importlib.metadata.version("posthog")
    except importlib.metadata.PackageNotFoundError:
        posthog_version = "not installed"
    return {"harness": __version__, "posthog": posthog_version, "python": platform.python_version()}


def build_report(
    apps: t.Sequence[AppReport],
    *,
    versions: t.Mapping[str, str | t.Sequence[str]],
    shard: tuple[int, int] | ShardLike | None = None,
    settings: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The report of one run (or one shard of a run) as a JSON-able dict.

    :param versions: ``harness``, ``posthog`` and ``python`` (see
        :func:`current_versions`); a list of versions where merged runs differed.
    :param shard: ``(index, count)`` when the run judged a shard: the
        ``--posthog-shard K/N`` the user gave, so ``index`` counts from 1.
    :param settings: each setting's value and source
        (:func:`harness.settings.settings_dict`).
    :raises ValueError: a version is missing, the shard is out of range, or two
        apps share a path.
    """
    missing = [key for key in VERSION_FIELDS if key not in versions]
    if missing:
        wanted = ", ".join(VERSION_FIELDS)
        raise ValueError(f"versions is missing {', '.join(missing)} (give {wanted})")
    _reject_duplicate_paths(apps)
    report: dict[str, t.Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    for key, field in VERSION_FIELDS.items():
        value = versions[key]
        report[field] = value if isinstance(value, str) else list(value)
    if settings is not None:
        report["settings"] = dict(settings)
    report["apps"] = [app.to_dict() for app in apps]
    report["totals"] = Totals.of(apps).to_dict()
    if shard is not None:
        index, count = shard if isinstance(shard, tuple) else (shard.index, shard.count)
        if not 1 <= index <= count:
            raise ValueError(f"shard {index}/{count}: the index must be within 1..{count}")
        report["shard"] = {"index": index, "count": count}
    return report


def _reject_duplicate_paths(apps: t.Sequence[AppReport]) -> None:
    seen: set[str] = set()
    for app in apps:
        if app.path in seen:
            raise ValueError(f"app path {app.path!r} appears twice; each app is judged once")
        seen.add(app.path)


def apps_of(report: t.Mapping[str, t.Any], *, source: str = "report") -> list[AppReport]:
    """The report's apps as records.

    :raises ReportError: naming ``source`` and the app that cannot be read.
    """
    try:
        return [AppReport.from_dict(app) for app in report["apps"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{source}: not a posthog-verify report: {exc}") from None


def write_report(report: t.Mapping[str, t.Any], path: Path) -> None:
    """Write atomically: a reader never sees half a report, even on a crash.

    Parent folders are created. The temporary file sits in the same folder so
    that :func:`os.replace` is a rename on one file system.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write a rendered report (Markdown, HTML), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def load_report(path: Path) -> dict[str, t.Any]:
    """Read a report written by :func:`write_report` (or merged).

    :raises ReportError: naming the file: unreadable, not JSON, not an object,
        or another ``schema_version``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot read the report: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not a posthog-verify report: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ReportError(f"{path}: not a posthog-verify report: no 'schema_version' field")
    if data["schema_version"] not in READABLE_VERSIONS:
        raise ReportError(
            f"{path}: report schema_version {data['schema_version']!r} is not supported "
            f"(this harness reads {' and '.join(repr(v) for v in READABLE_VERSIONS)})"
        )
    if not isinstance(data.get("apps"), list):
        raise ReportError(f"{path}: not a posthog-verify report: 'apps' is not a list")
    return data


def load_schema() -> dict[str, t.Any]:
    """The report's JSON Schema (draft 2020-12), shipped in the package."""
    text = importlib.resources.files("harness.report").joinpath("schema.json").read_text("utf-8")
    schema: dict[str, t.Any] = json.loads(text)
    return schema
