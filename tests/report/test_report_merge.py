"""Merging shard reports: equal to one run over every app, or a clear refusal."""

from __future__ import annotations

import re
import typing as t

import pytest

from harness.report import AppReport
from harness.report import MergeError
from harness.report import ReportError
from harness.report import build_report
from harness.report import merge_reports


def without_time(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in report.items() if k not in {"generated_at", "merged_from"}}


def test_merge_equals_the_report_of_all_apps(mixed_apps: list[AppReport], versions) -> None:
    shards = [
        build_report(mixed_apps[:2], versions=versions, shard=(1, 2)),
        build_report(mixed_apps[2:], versions=versions, shard=(2, 2)),
    ]
    merged = merge_reports(shards)
    assert without_time(merged) == without_time(build_report(mixed_apps, versions=versions))
    assert "merged_from" not in merged
    assert merged["totals"]["overall"]["apps"] == 3  # recomputed, not either shard's


def test_merge_names_its_sources(mixed_apps, versions) -> None:
    shards = [build_report([app], versions=versions) for app in mixed_apps]
    merged = merge_reports(shards, sources=["a.json", "b.json", "c.json"])
    assert merged["merged_from"] == ["a.json", "b.json", "c.json"]
    assert [app["app"] for app in merged["apps"]] == ["good", "leaky", "hung"]


def test_merge_of_merges_flattens_versions(make_app, versions) -> None:
    one = build_report([make_app("a")], versions=versions)
    two = build_report([make_app("b")], versions=versions | {"python": "3.12.1"})
    three = build_report([make_app("c")], versions=versions)
    merged = merge_reports([merge_reports([one, two]), three])
    assert merged["python_version"] == ["3.11.7", "3.12.1"]
    assert merged["harness_version"] == "0.1.0"


def test_duplicate_app_is_rejected_naming_both_files(make_app, versions) -> None:
    one = build_report([make_app("a"), make_app("shop")], versions=versions)
    two = build_report([make_app("shop")], versions=versions)
    with pytest.raises(
        MergeError,
        match=re.escape(
            "app path 'apps/shop' is in both shard-0.json and shard-1.json: "
            "each app must be judged by exactly one shard"
        ),
    ):
        merge_reports([one, two], sources=["shard-0.json", "shard-1.json"])


def test_missing_shard_is_rejected_unless_partial_is_allowed(make_app, versions) -> None:
    shards = [
        build_report([make_app(n)], versions=versions, shard=(i, 3))
        for i, n in [(1, "a"), (3, "c")]
    ]
    with pytest.raises(MergeError, match=r"shard\(s\) 2/3 missing: their apps would be absent"):
        merge_reports(shards)
    assert len(merge_reports(shards, allow_partial=True)["apps"]) == 2


def test_shards_of_different_splits_are_rejected(make_app, versions) -> None:
    one = build_report([make_app("a")], versions=versions, shard=(1, 2))
    two = build_report([make_app("b")], versions=versions, shard=(1, 3))
    with pytest.raises(MergeError, match=r"different splits .*x\.json is 1/2, y\.json is 1/3"):
        merge_reports([one, two], sources=["x.json", "y.json"])


def test_other_schema_version_and_broken_apps_are_rejected(make_app, versions) -> None:
    good = build_report([make_app("a")], versions=versions)
    with pytest.raises(ReportError, match=r"old\.json: report schema_version '0'"):
        merge_reports([good, good | {"schema_version": "0"}], sources=["new.json", "old.json"])
    broken = build_report([make_app("b")], versions=versions)
    del broken["apps"][0]["checks"]
    message = r"b\.json: not a posthog-verify report: app 'b': missing"
    with pytest.raises(ReportError, match=message):
        merge_reports([good, broken], sources=["a.json", "b.json"])


def test_nothing_to_merge() -> None:
    with pytest.raises(MergeError, match="nothing to merge"):
        merge_reports([])
