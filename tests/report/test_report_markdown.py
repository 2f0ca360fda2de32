"""The Markdown summary: a PR comment that always fits GitHub's limit."""

from __future__ import annotations

import re

import pytest

from harness.report import AppReport
from harness.report import build_report
from harness.report import markdown_summary
from harness.report.markdown import GITHUB_COMMENT_LIMIT
from harness.verdict import Status


@pytest.fixture
def body(mixed_apps: list[AppReport], versions) -> str:
    return markdown_summary(build_report(mixed_apps, versions=versions))


def test_headline_and_stats(body: str) -> None:
    lines = body.splitlines()
    assert lines[0] == "## posthog-verify: 1 of 3 apps pass"
    assert "1 failed, 1 could not be judged · 38 of 40 applicable checks passed" in body
    assert "harness 0.1.0 · posthog 7.91.1 · Python 3.11.7 · generated " in body


def test_single_app_headline_is_singular(make_app, versions) -> None:
    body = markdown_summary(build_report([make_app("shop")], versions=versions))
    assert body.startswith("## posthog-verify: 1 of 1 app passes\n")
    assert "<details>" not in body  # nothing to detail


def test_table_has_a_row_per_app_and_a_legend(body: str) -> None:
    lines = body.splitlines()
    header = "| app | score | reason | " + " | ".join(map(str, range(1, 18))) + " | errors |"
    assert header in lines
    rows = [line for line in lines if line.startswith("| ") and line != header][1:]
    assert len(rows) == 3
    # ranked by weighted score: an error is out of the score, a warn costs half
    # an advisory check, a blocking fail costs 3 of 36
    assert rows[0].startswith("| hung | 100 | 1 not judged | pass |")
    assert rows[0].endswith("| 1 |")
    assert rows[1].startswith("| good | 98.5 | warns on boots\\_without\\_posthog\\_env | pass |")
    assert rows[2].startswith("| leaky | 91.7 | fails no\\_pii\\_in\\_events (blocking) | pass |")
    assert "| **fail** |" in rows[2]
    assert rows[2].endswith("| 0 |")
    assert "Checks: 1 `boots` · 2 `boots_without_posthog_env` (advisory) · 3 `key_from_env`" in body


def test_details_list_findings_with_evidence(body: str) -> None:
    blocks = re.findall(r"<details><summary>(.*?)</summary>\n(.*?)</details>", body, re.S)
    assert [summary for summary, _ in blocks] == [
        "hung (apps/hung): 1 error",
        "good (apps/good): 1 warn",
        "leaky (apps/leaky): 1 fail",
    ]
    leaky = blocks[2][1]
    assert "**`no_pii_in_events`** fail: no\\_pii\\_in\\_events is fail for leaky" in leaky
    assert '```json\n{\n  "event": "user_signed_up",\n  "path": "x"\n}\n```' in leaky


def test_text_from_the_app_cannot_inject_markup(make_app, versions) -> None:
    app = make_app(
        "evil|name",
        statuses={"boots": Status.FAIL},
        evidence=[{"value": "``` </details> <script>"}],
    )
    body = markdown_summary(build_report([app], versions=versions))
    assert "| evil\\|name |" in body
    # the app's own text is escaped; its evidence is quoted in a fence longer than its backticks
    assert "<summary>evil|name (apps/evil|name): 1 fail</summary>" in body
    assert '````json\n{\n  "value": "``` </details> <script>"\n}\n````' in body


def test_huge_evidence_is_cut_under_the_limit(make_app, versions) -> None:
    evidence = [{"event": "$pageview", "properties": {"blob": "x" * 10_000}} for _ in range(20)]
    failing = dict.fromkeys(["key_from_env", "no_pii_in_events", "no_silent_drops"], Status.FAIL)
    apps = [make_app(f"app{i}", statuses=failing, evidence=evidence) for i in range(60)]
    body = markdown_summary(build_report(apps, versions=versions))
    assert len(body) <= GITHUB_COMMENT_LIMIT
    assert len(body) > GITHUB_COMMENT_LIMIT - 5_000  # the budget was used, not wasted
    assert re.search(r"… \d+ more characters", body)  # an item cut to ITEM_CHARS
    assert re.search(r"… \d+ more evidence items?\n", body)
    assert re.search(r"… \d+ more apps? with findings not shown", body)
    assert body.count("<details>") == body.count("</details>")


def test_a_huge_run_cuts_the_table(make_app, versions) -> None:
    apps = [make_app(f"app{i:04}", statuses={"boots": Status.WARN}) for i in range(1_500)]
    body = markdown_summary(build_report(apps, versions=versions))
    assert len(body) <= GITHUB_COMMENT_LIMIT
    match = re.search(r"… (\d+) more apps not in the table", body)
    assert match
    shown = len([line for line in body.splitlines() if line.startswith("| app0")])
    assert shown + int(match.group(1)) == 1_500


def test_max_chars_is_honoured(mixed_apps, versions) -> None:
    body = markdown_summary(build_report(mixed_apps, versions=versions), max_chars=2_000)
    assert len(body) <= 2_000
    assert body.startswith("## posthog-verify: 1 of 3 apps pass")


def test_no_apps(versions) -> None:
    body = markdown_summary(build_report([], versions=versions))
    assert body.startswith("## posthog-verify: no apps were judged")


def test_identical_errors_are_shown_once(make_app, versions) -> None:
    statuses = {"key_from_env": Status.ERROR, "host_from_env": Status.ERROR}
    app = make_app("shop", statuses=statuses, summary="not judged: the mock's thread raised")
    body = markdown_summary(build_report([app], versions=versions))
    assert body.count("not judged: the mock") == 1
    assert "(the same for host\\_from\\_env)" in body


def test_an_app_block_says_what_the_run_was(make_app, versions) -> None:
    from report_fake_runs import fake_run

    from harness.report.facts import run_facts

    facts = run_facts(fake_run("shop", failing_step=True))
    app = make_app("shop", statuses={"no_pii_in_events": Status.FAIL}, facts=facts)
    body = markdown_summary(build_report([app], versions=versions))
    (line,) = [line for line in body.splitlines() if line.startswith("Run: ")]
    assert "found `app:create\\_app` by convention" in line
    assert "isolation: network+pid namespaces" in line
    assert "4 steps: 2 ok, 1 failed, 1 no answer" in line
    assert "api\\_action failed: sqlite3.OperationalError: no such table: note" in line
