"""Merging the JSON reports of shard runs into one report.

Apps are concatenated in input order and the totals recomputed from them, so
a merge equals the report a single run over every app would have written::

    merged = merge_reports([load_report(a), load_report(b)], sources=[a.name, b.name])
"""

from __future__ import annotations

import typing as t

from harness.report.json_report import READABLE_VERSIONS
from harness.report.json_report import VERSION_FIELDS
from harness.report.json_report import ReportError
from harness.report.json_report import apps_of
from harness.report.json_report import build_report
from harness.report.model import AppReport


class MergeError(ReportError):
    """The reports cannot be merged into one honest report."""


def merge_reports(
    reports: t.Sequence[t.Mapping[str, t.Any]],
    *,
    sources: t.Sequence[str] | None = None,
    allow_partial: bool = False,
) -> dict[str, t.Any]:
    """One report from many.

    :param sources: a name per report (its file name) for error messages and
        the ``merged_from`` field; without it reports are named by position
        and ``merged_from`` is left out.
    :param allow_partial: accept shard reports that do not cover every shard
        (by default a missing shard is an error: its apps would vanish silently).
    :raises MergeError: no reports, an app path in two reports (both named),
        shard reports of different counts or with shards missing.
    :raises ReportError: a report of another ``schema_version`` or unreadable apps.
    """
    if not reports:
        raise MergeError("nothing to merge: give at least one report")
    names = [f"report #{i + 1}" for i in range(len(reports))] if sources is None else list(sources)
    if len(names) != len(reports):
        raise ValueError(f"{len(reports)} reports but {len(names)} source names")
    for report, name in zip(reports, names, strict=True):
        if report.get("schema_version") not in READABLE_VERSIONS:
            raise ReportError(
                f"{name}: report schema_version {report.get('schema_version')!r} is not "
                f"supported (this harness reads {' and '.join(map(repr, READABLE_VERSIONS))})"
            )
    if not allow_partial:
        _check_shards(reports, names)
    apps = _concatenate(reports, names)
    settings = next((r["settings"] for r in reports if r.get("settings")), None)
    merged = build_report(apps, versions=_merged_versions(reports), settings=settings)
    if sources is not None:
        merged["merged_from"] = names
    return merged


def _concatenate(reports: t.Sequence[t.Mapping[str, t.Any]], names: list[str]) -> list[AppReport]:
    apps: list[AppReport] = []
    owner: dict[str, str] = {}
    for report, name in zip(reports, names, strict=True):
        for app in apps_of(report, source=name):
            if app.path in owner:
                raise MergeError(
                    f"app path {app.path!r} is in both {owner[app.path]} and {name}: "
                    "each app must be judged by exactly one shard"
                )
            owner[app.path] = name
            apps.append(app)
    return apps


def _merged_versions(reports: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, str | list[str]]:
    """Each version kept when the runs agree, else the distinct values in order."""
    versions: dict[str, str | list[str]] = {}
    for key, field in VERSION_FIELDS.items():
        seen: dict[str, None] = {}
        for report in reports:
            value = report.get(field, "unknown")
            seen.update(dict.fromkeys([value] if isinstance(value, str) else value))
        values = list(seen)
        versions[key] = values[0] if len(values) == 1 else values
    return versions


def _check_shards(reports: t.Sequence[t.Mapping[str, t.Any]], names: list[str]) -> None:
    """When every input is a shard, they must be all the shards of one split."""
    if not all(report.get("shard") for report in reports):
        return
    shards = [report["shard"] for report in reports]
    counts = {shard["count"] for shard in shards}
    if len(counts) > 1:
        described = ", ".join(
            f"{name} is {s['index']}/{s['count']}" for name, s in zip(names, shards, strict=True)
        )
        raise MergeError(f"shard reports of different splits cannot be merged: {described}")
    count = counts.pop()
    missing = sorted(set(range(1, count + 1)) - {shard["index"] for shard in shards})
    if missing:
        raise MergeError(
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing: "
            "their apps would be absent from the merge; "
            "pass allow_partial (--allow-partial) to merge anyway"
        )
