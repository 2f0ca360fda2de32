"""The JSON report: its schema, its atomic write, and loading with clear errors."""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import jsonschema
import pytest

from harness.report import AppReport
from harness.report import ReportError
from harness.report import build_report
from harness.report import current_versions
from harness.report import load_report
from harness.report import load_schema
from harness.report import merge_reports
from harness.report import write_report


def validate(report: t.Mapping[str, t.Any]) -> None:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(json.loads(json.dumps(report)))


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_single_run_report_validates(mixed_apps: list[AppReport], versions) -> None:
    report = build_report(mixed_apps, versions=versions)
    validate(report)
    assert report["schema_version"] == "2"
    assert report["posthog_version"] == "7.91.1"
    assert [app["app"] for app in report["apps"]] == ["good", "leaky", "hung"]
    assert report["totals"]["overall"]["apps_failed"] == 1
    assert "shard" not in report
    assert "merged_from" not in report


def test_shard_and_merged_reports_validate(mixed_apps: list[AppReport], versions) -> None:
    first = build_report(mixed_apps[:1], versions=versions, shard=(1, 2))
    second = build_report(mixed_apps[1:], versions=versions | {"posthog": "7.90.0"}, shard=(2, 2))
    validate(first)
    assert first["shard"] == {"index": 1, "count": 2}
    merged = merge_reports([first, second], sources=["a.json", "b.json"])
    validate(merged)
    assert merged["posthog_version"] == ["7.91.1", "7.90.0"]


def test_schema_rejects_what_is_not_a_report(mixed_apps: list[AppReport], versions) -> None:
    report = build_report(mixed_apps, versions=versions)
    report["apps"][0]["checks"][0]["status"] = "ok"
    with pytest.raises(jsonschema.ValidationError, match="'ok' is not one of"):
        validate(report)


def test_current_versions_describe_this_process() -> None:
    found = current_versions()
    assert set(found) == {"harness", "posthog", "python"}
    assert found["posthog"].startswith("7.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"versions": {"harness": "1"}}, "versions is missing posthog, python", id="v"),
        pytest.param({"shard": (0, 2)}, r"shard 0/2: the index must be within 1..2", id="shard"),
    ],
)
def test_build_report_refuses_bad_arguments(mixed_apps, versions, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_report(mixed_apps, **{"versions": versions, **kwargs})


def test_build_report_refuses_an_app_twice(make_app, versions) -> None:
    with pytest.raises(ValueError, match="app path 'apps/x' appears twice"):
        build_report([make_app("x"), make_app("y", path="apps/x")], versions=versions)


def test_write_is_atomic_and_creates_folders(tmp_path: Path, mixed_apps, versions) -> None:
    target = tmp_path / "deep" / "er" / "report.json"
    report = build_report(mixed_apps, versions=versions)
    write_report(report, target)
    assert load_report(target) == json.loads(json.dumps(report))
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temp file left


def test_a_failed_write_keeps_the_old_report(tmp_path: Path, mixed_apps, versions) -> None:
    target = tmp_path / "report.json"
    write_report(build_report(mixed_apps, versions=versions), target)
    before = target.read_text()
    with pytest.raises(ValueError, match="Out of range float values"):
        write_report({"schema_version": "1", "bad": float("nan")}, target)
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "not a posthog-verify report: invalid JSON", id="bad-json"),
        pytest.param("[1, 2]", "not a posthog-verify report: no 'schema_version'", id="array"),
        pytest.param(
            '{"schema_version": "3", "apps": []}',
            "report schema_version '3' is not supported \\(this harness reads '1' and '2'\\)",
            id="version",
        ),
        pytest.param(
            '{"schema_version": "1", "apps": {}}',
            "not a posthog-verify report: 'apps' is not a list",
            id="apps-not-list",
        ),
    ],
)
def test_load_report_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "shard-3.json"
    path.write_text(content)
    with pytest.raises(ReportError, match=f"^{re.escape(str(path))}: {message}"):
        load_report(path)


def test_load_report_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"nope.json: cannot read the report: No such file"):
        load_report(tmp_path / "nope.json")


def test_shard_may_be_the_settings_record(mixed_apps, versions) -> None:
    from harness.settings import Shard

    report = build_report(mixed_apps, versions=versions, shard=Shard(3, 4))
    assert report["shard"] == {"index": 3, "count": 4}
