"""The Markdown summary of a report, fit for a pull-request comment.

A headline, a table of apps by checks in status words, then a collapsed
``<details>`` block per app with its fails, warnings and errors and their
evidence as JSON. GitHub refuses a comment over 65,536 characters, so the
text is budgeted: the table and the evidence are cut where the budget ends,
each cut saying how much was left out::

    body = markdown_summary(load_report(Path("posthog-verify.json")))
"""

from __future__ import annotations

import html
import json
import re
import typing as t

from harness.report.connections import sandbox_lines
from harness.report.grading import Severity
from harness.report.grading import error_groups
from harness.report.grading import ranked
from harness.report.grading import severity_of
from harness.report.json_report import apps_of
from harness.report.model import AppReport
from harness.report.model import Totals
from harness.report.model import check_columns
from harness.report.steps import failed_step_lines
from harness.report.terminal import plural
from harness.verdict import Result
from harness.verdict import Status

GITHUB_COMMENT_LIMIT = 65_536
ITEM_CHARS = 2_000  # one evidence item, pretty-printed, at most
SUMMARY_CHARS = 500
MIN_CHARS = 2_000  # the headline and the table's header always fit
_NOTE = 80  # room every cut keeps for its "… N more" note
_FENCE = 40  # a fenced block's fences, beyond its text
_MIN_ITEM = 200  # an item cut shorter than this says nothing; stop instead
_MIN_APP = 1_500  # share floors: better fewer apps shown usefully than all uselessly
_MIN_CHECK = 400
_WORDS = {
    Status.PASS: "pass",
    Status.FAIL: "**fail**",
    Status.WARN: "warn",
    Status.SKIP: "skip",
    Status.ERROR: "**error**",
}
_FINDINGS = (Status.FAIL, Status.WARN, Status.ERROR)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def markdown_summary(
    report: t.Mapping[str, t.Any], *, max_chars: int = GITHUB_COMMENT_LIMIT
) -> str:
    """The report as Markdown, at most ``max_chars`` characters.

    The table takes at most half of what the headline leaves when there are
    findings; the details share the rest fairly between apps, then between
    an app's findings, so one huge piece of evidence cannot crowd out the others.

    :param report: a report dict (:func:`~harness.report.build_report`,
        :func:`~harness.report.load_report` or a merge).
    :param max_chars: at least ``MIN_CHARS``.
    """
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS}, not {max_chars}")
    apps = ranked(apps_of(report))
    head = "\n".join([*_head(report, Totals.of(apps)), ""])
    if not apps:
        return head
    budget = _Budget(max_chars - len(head) - 1)
    has_findings = any(_findings(app) or app.error is not None for app in apps)
    table = _table(apps, budget.share(2 if has_findings else 1))
    budget.take(table)
    parts = [head, table]
    if has_findings:
        parts.append(_details(apps, budget))
    return "\n".join(parts)


class _Budget:
    """Characters left to spend; each piece costs its length plus a joining newline."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def take(self, text: str, *, keep: int = 0) -> bool:
        """Spend on ``text`` if ``keep`` characters are still left after it."""
        cost = len(text) + 1
        if cost + keep > self.remaining:
            return False
        self.remaining -= cost
        return True

    def share(self, ways: int, *, floor: int = 0) -> _Budget:
        """A sub-budget of 1/``ways`` (at least ``floor``) that this one can
        always take back whole while keeping room for a cut note."""
        most = self.remaining - _NOTE
        return _Budget(min(max(most // max(ways, 1), floor), most))


def _head(report: t.Mapping[str, t.Any], totals: Totals) -> list[str]:
    overall = totals.overall
    if not overall.apps:
        return ["## posthog-verify: no apps were judged", ""]
    verb = "passes" if overall.apps == 1 else "pass"
    score = overall.score
    stats = (
        f"{overall.apps_failed} failed, {overall.apps_errored} could not be judged · "
        f"{score.passed} of {plural(score.applicable, 'applicable check')} passed · "
        f"{score.warned} warned · {score.skipped} skipped · {plural(score.errors, 'error')}"
    )
    sandbox = [_text(line) for line in sandbox_lines(apps_of(report))]
    return [
        f"## posthog-verify: {overall.apps_passed} of {plural(overall.apps, 'app')} {verb}",
        "",
        stats,
        "",
        _provenance(report),
        "",
        *(f"{line}  " for line in sandbox),
        *([""] if sandbox else []),
    ]


def _provenance(report: t.Mapping[str, t.Any]) -> str:
    def version(field: str) -> str:
        value = report.get(field, "unknown")
        return _text(value if isinstance(value, str) else ", ".join(value))

    parts = [
        f"harness {version('harness_version')}",
        f"posthog {version('posthog_version')}",
        f"Python {version('python_version')}",
    ]
    if shard := report.get("shard"):
        parts.append(f"shard {shard['index']}/{shard['count']}")
    if merged := report.get("merged_from"):
        parts.append(f"merged from {plural(len(merged), 'report')}")
    parts.append(f"generated {_text(str(report.get('generated_at', '?')))}")
    return " · ".join(parts)


def _table(apps: t.Sequence[AppReport], budget: _Budget) -> str:
    """Apps by checks, numbered columns with a legend; cut when over budget."""
    columns = check_columns(apps)
    numbers = [str(i) for i in range(1, len(columns) + 1)]
    legend = "Checks: " + " · ".join(
        f"{n} `{c}`" + ("" if severity_of(c) is Severity.BLOCKING else " (advisory)")
        for n, c in zip(numbers, columns, strict=True)
    )
    legend += (
        ". Score: 100 x sum(weight x credit) / sum(weight) over applicable checks; weight 3 "
        "blocking, 1 advisory; credit pass 1, warn 0.5, fail 0; apps that do not serve rank last."
    )
    lines = [
        "| app | score | reason | " + " | ".join(numbers) + " | errors |",
        "| --- | --: | --- | " + " | ".join(":-:" for _ in numbers) + " | --: |",
    ]
    budget.take(legend + "\n\n" + "\n".join(lines))  # always shown: MIN_CHARS covers it
    for shown, app in enumerate(apps):
        if not budget.take(row := _row(app, columns), keep=_NOTE):
            lines.append(f"\n… {plural(len(apps) - shown, 'more app')} not in the table")
            break
        lines.append(row)
    return "\n".join([*lines, "", legend, ""])


def _row(app: AppReport, columns: t.Sequence[str]) -> str:
    by_id = {result.check_id: result.status for result in app.checks}
    cells = [_WORDS[by_id[c]] if c in by_id else "-" for c in columns]
    grade = app.grade
    reason = _text(_cut(grade.reason, SUMMARY_CHARS // 2))
    return (
        f"| {_text(app.app)} | {grade.shown} | {reason} | "
        + " | ".join(cells)
        + f" | {app.score.errors} |"
    )


def _findings(app: AppReport) -> list[Result]:
    """Fails and warns, then one result per group of identical errors (its
    summary naming the other checks it stands for)."""
    found = [r for r in app.checks if r.status in (Status.FAIL, Status.WARN)]
    for group in error_groups(app.checks):
        first = group.first
        if len(group.check_ids) > 1:
            others = ", ".join(group.check_ids[1:])
            summary = f"{first.summary} (the same for {others})"
            first = Result(first.check_id, first.status, summary, first.evidence)
        found.append(first)
    return found


def _details(apps: t.Sequence[AppReport], budget: _Budget) -> str:
    flagged = [app for app in apps if _findings(app) or app.error is not None]
    blocks = []
    for shown, app in enumerate(flagged):
        share = budget.share(len(flagged) - shown, floor=_MIN_APP)
        block = _app_block(app, share)
        if block is None or not budget.take(block, keep=_NOTE):
            blocks.append(f"… {plural(len(flagged) - shown, 'more app')} with findings not shown")
            break
        blocks.append(block)
    return "\n".join(blocks)


def _app_block(app: AppReport, budget: _Budget) -> str | None:
    """One app's ``<details>``; None when not even its first finding fits."""
    findings = _findings(app)
    counts = ", ".join(
        plural(n, s.value) for s in _FINDINGS if (n := sum(r.status is s for r in findings))
    )
    opening = f"<details><summary>{_html(app.app)} ({_html(app.path)}): "
    opening += f"{counts or 'not judged'}</summary>\n"
    closing = "\n</details>\n"
    if not budget.take(opening + closing, keep=_NOTE):
        return None
    parts = [opening]
    if app.error is not None and budget.take(
        line := f"Not judged: {_text(_cut(app.error, SUMMARY_CHARS))}\n", keep=_NOTE
    ):
        parts.append(line)
    steps = failed_step_lines(app.facts.get("steps", ()))
    if steps and budget.take(
        block := "Failed steps:\n" + "".join(f"- {_text(_cut(s, SUMMARY_CHARS))}\n" for s in steps),
        keep=_NOTE,
    ):
        parts.append(block)
    if (run := _run_line(app.facts)) and budget.take(run, keep=_NOTE):
        parts.append(run)
    for index, result in enumerate(findings):
        section = _check_section(result, budget.share(len(findings) - index, floor=_MIN_CHECK))
        if section is None or not budget.take(section, keep=_NOTE):
            if index == 0 and app.error is None:
                return None  # a block that shows no finding is noise: count the app as cut
            parts.append(f"… {plural(len(findings) - index, 'more finding')} not shown\n")
            break
        parts.append(section)
    parts.append(closing)
    return "\n".join(parts)


def _run_line(facts: t.Mapping[str, t.Any]) -> str:
    """What the run was, in one line: how the app was found, isolation, steps."""
    if not facts:
        return ""
    parts = []
    if discovery := facts.get("discovery"):
        parts.append(
            f"found `{_text(discovery.get('target') or '?')}` by "
            f"{_text(discovery.get('found_by') or '?')}"
        )
        if setup := discovery.get("setup"):
            parts.append(f"{plural(len(setup), 'set-up command')}")
    if isolation := facts.get("isolation"):
        parts.append(f"isolation: {_text(isolation)}")
    steps = facts.get("steps") or []
    if steps:
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.get("status", "?")] = counts.get(step.get("status", "?"), 0) + 1
        shown = ", ".join(f"{n} {status}" for status, n in counts.items())
        parts.append(f"{plural(len(steps), 'step')}: {shown}")
        failed = [s for s in steps if s.get("failure")]
        if failed:
            first = failed[0]
            cause = _cut(str(first["failure"].get("cause", "")), SUMMARY_CHARS // 2)
            parts.append(f"{_text(str(first.get('step')))} failed: {_text(cause)}")
    if versions := facts.get("versions"):
        parts.append(", ".join(f"{_text(k)} {_text(str(v))}" for k, v in versions.items()))
    return "Run: " + " · ".join(parts) + "\n" if parts else ""


def _check_section(result: Result, budget: _Budget) -> str | None:
    """One finding and as much of its evidence as fits; None if its line does not."""
    summary = _text(_cut(result.summary, SUMMARY_CHARS))
    line = f"**`{result.check_id}`** {result.status.value}: {summary}\n"
    if not budget.take(line, keep=_NOTE):
        return None
    parts = [line]
    for index, item in enumerate(result.evidence):
        cap = min(ITEM_CHARS, budget.remaining - _NOTE - _FENCE)
        if cap < _MIN_ITEM or not budget.take(block := _fenced(_cut(_json(item), cap)), keep=_NOTE):
            parts.append(f"… {plural(len(result.evidence) - index, 'more evidence item')}\n")
            break
        parts.append(block)
    return "\n".join(parts)


def _json(item: t.Any) -> str:
    return json.dumps(item, indent=2, ensure_ascii=False, default=repr)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = f"… {len(text) - limit} more characters"
    return text[: max(limit - len(note), 0)] + note


def _fenced(text: str) -> str:
    """A JSON code block whose fence no backtick run in ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{text}\n{fence}\n"


def _text(text: str) -> str:
    """Plain text safe in a table cell or paragraph: no markup, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


def _html(text: str) -> str:
    """Text inside an HTML element (``<summary>``), where Markdown is not parsed."""
    return html.escape(" ".join(text.split()), quote=False)
