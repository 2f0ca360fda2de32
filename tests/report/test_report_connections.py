"""Isolation and connection attempts in the reports: merged, summarised, round-tripped."""

from __future__ import annotations

from harness.report import AppReport
from harness.report import build_report
from harness.report import load_schema
from harness.report import markdown_summary
from harness.report import summary_lines
from harness.report.connections import MAX_ENTRIES
from harness.report.connections import merge_connections
from harness.report.facts import run_facts
from harness.run import AppRef
from harness.run import ConnectionAttempt
from harness.run import Run
from harness.verdict import Result
from harness.verdict import Status

VERSIONS = {"harness": "0", "posthog": "0", "python": "3.11"}
ATTEMPTS = (
    ConnectionAttempt("203.0.113.9", 80, "tcp", "unreachable", step=2, via="audit"),
    ConnectionAttempt("203.0.113.9", 80, "tcp", "unreachable", step=3, via="audit"),
    ConnectionAttempt("us.i.posthog.com", 443, "https", "mock", None, "requests", "no_env"),
    ConnectionAttempt("python -c ...", None, "process", "unseen", step=2, via="audit"),
)


def _app(name: str, isolation: str, attempts: tuple[ConnectionAttempt, ...]) -> AppReport:
    checks = (Result("boots", Status.PASS, "GET / answered 200"),)
    run = Run(app=AppRef(name=name, root=f"apps/{name}"), isolation=isolation, connections=attempts)
    return AppReport.from_results(name, f"apps/{name}", checks, facts=run_facts(run, versions={}))


def test_attempts_merge_by_destination_and_outcome_with_counts_and_steps() -> None:
    merged = merge_connections(ATTEMPTS)
    assert merged[0] == {
        "host": "203.0.113.9",
        "port": 80,
        "protocol": "tcp",
        "outcome": "unreachable",
        "via": "audit",
        "boot": "main",
        "count": 2,
        "steps": [2, 3],
    }
    assert [m["count"] for m in merged] == [2, 1, 1]


def test_a_flood_of_attempts_is_capped() -> None:
    flood = [ConnectionAttempt(f"10.0.0.{i}", 80, "tcp", "unreachable") for i in range(200)]
    assert len(merge_connections(flood)) == MAX_ENTRIES


def test_terminal_and_markdown_name_the_isolation_and_every_attempt_but_the_mocks() -> None:
    apps = [
        _app("hostile", "in-process guard only (...)", ATTEMPTS),
        _app("quiet", "network+pid namespaces", ATTEMPTS[2:3]),
        _app("silent", "network+pid namespaces", ()),
    ]
    lines = summary_lines(apps, width=200)
    modes = "in-process guard only (...) (1 app); network+pid namespaces (2 apps)"
    assert f"isolation: {modes}" in lines
    (hostile,) = [line for line in lines if line.startswith("hostile: tried")]
    assert hostile == (
        "hostile: tried 203.0.113.9:80/tcp unreachable x2, "
        "us.i.posthog.com:443/https mock (no-env boot), python -c .../process unseen"
    )
    assert "quiet: tried us.i.posthog.com:443/https mock (no-env boot)" in lines
    assert not any(line.startswith("silent: tried") for line in lines)
    markdown = markdown_summary(build_report(apps, versions=VERSIONS))
    assert "203.0.113.9:80/tcp unreachable x2" in markdown
    assert "network+pid namespaces (2 apps)" in markdown


def test_json_round_trip_keeps_isolation_and_connections_and_fits_the_schema() -> None:
    import jsonschema

    app = _app("hostile", "network+pid namespaces", ATTEMPTS)
    report = build_report([app], versions=VERSIONS)
    jsonschema.validate(report, load_schema())
    (again,) = [AppReport.from_dict(a) for a in report["apps"]]
    assert again.facts["isolation"] == "network+pid namespaces"
    assert again.facts["connections"] == app.facts["connections"]


def test_reports_without_sandbox_data_say_nothing_of_it() -> None:
    checks = (Result("boots", Status.PASS, "ok"),)
    app = AppReport.from_results("old", "apps/old", checks)
    assert not any(line.startswith("isolation:") for line in summary_lines([app]))
    assert AppReport.from_dict({k: v for k, v in app.to_dict().items() if k != "isolation"}) == app
