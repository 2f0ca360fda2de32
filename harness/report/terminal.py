"""The terminal summary: a table of apps by checks, then every finding in a line.

Plain lines only; the pytest hook writes them (colour, if any, is its
business). Every cell is an ASCII glyph so the table survives a no-colour
terminal and a CI log::

    for line in summary_lines(apps, width=terminalwriter.fullwidth):
        terminalreporter.write_line(line)
"""

from __future__ import annotations

import typing as t

from harness.report.connections import sandbox_lines
from harness.report.grading import error_groups
from harness.report.grading import ranked
from harness.report.model import AppReport
from harness.report.model import Totals
from harness.report.model import check_columns
from harness.report.steps import failed_step_lines
from harness.verdict import Status

GLYPHS = {Status.PASS: ".", Status.FAIL: "F", Status.WARN: "W", Status.SKIP: "s", Status.ERROR: "E"}
NOT_RUN = "-"  # the app has no result for this check (deselected, e.g. with -k)
ELLIPSIS = "…"
_MIN_NAME = 4


_STEP_LINES = 4  # failed steps shown per app; the JSON has them all


def plural(count: int, word: str) -> str:
    """``1 app``, ``2 apps``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "…" when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def summary_lines(apps: t.Sequence[AppReport], *, width: int = 100) -> list[str]:
    """The summary, every line at most ``width`` characters.

    A legend numbers the checks; one row per app with a glyph per check, its
    score (passed/applicable) and its error count; rows of counts per check;
    a sentence; then one line per fail, warn or error: ``app::check STATUS summary``.
    """
    if not apps:
        return ["posthog-verify: no apps were judged"]
    apps = ranked(apps)
    findings = [line for app in apps for line in _finding_lines(app, width)]
    if all(app.score.applicable == 0 and app.score.errors for app in apps):
        # Nothing was judged anywhere: a grid of E says less than the causes.
        return [*(truncate(line, width) for line in _sentences(Totals.of(apps))), "", *findings]
    columns = check_columns(apps)
    layout = _Layout.of(apps, columns, width)
    lines = _legend(columns, width)
    lines.append(layout.row("app", [str(i) for i in range(1, len(columns) + 1)], "score", "err"))
    for app in apps:
        lines.append(layout.row(app.app, _cells(app, columns), *_score_cells(app)))
    lines.extend(_totals_rows(apps, columns, layout))
    key = "  ".join(f"{glyph} {status.value}" for status, glyph in GLYPHS.items())
    lines.append(truncate(f"{key}  {NOT_RUN} not run", width))
    lines.extend(truncate(line, width) for line in _sentences(Totals.of(apps)))
    lines.extend(truncate(line, width) for line in sandbox_lines(apps))
    if findings:
        lines.append("")
        lines.extend(findings)
    return lines


class _Layout(t.NamedTuple):
    name_w: int
    col_w: int
    score_w: int
    err_w: int

    @classmethod
    def of(cls, apps: t.Sequence[AppReport], columns: t.Sequence[str], width: int) -> _Layout:
        # A column holds a check's number in the header and a count of apps in the totals.
        col_w = max(len(str(len(columns))), len(str(len(apps))))
        score_w = max(len("score"), *(len(_score_cells(app)[0]) for app in apps))
        err_w = max(len("err"), len(str(len(columns))))
        fixed = len(columns) * (col_w + 1) + 1 + score_w + 1 + err_w
        longest = max(len("error"), *(len(app.app) for app in apps))
        return cls(max(min(longest, width - fixed), _MIN_NAME), col_w, score_w, err_w)

    def row(self, name: str, cells: t.Sequence[str], score: str, err: str) -> str:
        grid = " ".join(cell.rjust(self.col_w) for cell in cells)
        name = truncate(name, self.name_w).ljust(self.name_w)
        return f"{name} {grid} {score.rjust(self.score_w)} {err.rjust(self.err_w)}".rstrip()


def _legend(columns: t.Sequence[str], width: int) -> list[str]:
    """``checks:  1 boots  2 boots_without_posthog_env ...`` wrapped to ``width``."""
    lead = "checks:"
    lines: list[str] = []
    parts: list[str] = []
    for number, check_id in enumerate(columns, start=1):
        entry = f"{number} {check_id}"
        if parts and len(lead) + sum(2 + len(p) for p in [*parts, entry]) > width:
            lines.append(lead + "".join(f"  {p}" for p in parts))
            lead, parts = " " * len(lead), []
        parts.append(entry)
    lines.append(lead + "".join(f"  {p}" for p in parts))
    return [truncate(line, width) for line in lines]


def _cells(app: AppReport, columns: t.Sequence[str]) -> list[str]:
    by_id = {result.check_id: result.status for result in app.checks}
    return [GLYPHS[by_id[c]] if c in by_id else NOT_RUN for c in columns]


def _score_cells(app: AppReport) -> tuple[str, str]:
    """The weighted score (see :mod:`harness.report.grading`) and the error count."""
    return app.grade.shown, str(app.score.errors)


def _totals_rows(
    apps: t.Sequence[AppReport], columns: t.Sequence[str], layout: _Layout
) -> list[str]:
    """A row per status that occurred: how many apps got it, per check."""
    totals = Totals.of(apps).checks
    rows = []
    for status in GLYPHS:
        counts = [totals[check_id].count(status) for check_id in columns]
        if any(counts):
            cells = [str(n) if n else NOT_RUN for n in counts]
            rows.append(layout.row(status.value, cells, "", ""))
    return rows


def _sentences(totals: Totals) -> list[str]:
    overall = totals.overall
    score = overall.score
    return [
        f"{plural(overall.apps, 'app')}: {overall.apps_passed} passed, "
        f"{overall.apps_failed} failed, {overall.apps_errored} could not be judged",
        f"checks: {score.passed} of {score.applicable} applicable passed, {score.warned} warned, "
        f"{score.skipped} skipped, {plural(score.errors, 'error')}",
    ]


def _finding_lines(app: AppReport, width: int) -> list[str]:
    """``app::check STATUS summary`` per fail or warn, and per group of
    identical errors (``app::boots (+13 checks) ERROR ...``).

    When that does not fit, the summary goes on an indented line of its own
    so the id (what a user passes to ``-k``) stays whole.
    """
    found = [(app.app, "ERROR", app.error)] if app.error is not None else []
    found.extend(
        (f"{app.app}::{r.check_id}", r.status.value.upper(), r.summary)
        for r in app.checks
        if r.status in (Status.FAIL, Status.WARN)
    )
    steps = failed_step_lines(app.facts.get("steps", ()))
    found.extend((app.app, "STEP", line) for line in steps[:_STEP_LINES])
    if len(steps) > _STEP_LINES:
        found.append((app.app, "STEP", f"and {len(steps) - _STEP_LINES} more failed steps"))
    for group in error_groups(app.checks):
        more = len(group.check_ids) - 1
        node = f"{app.app}::{group.check_ids[0]}" + (f" (+{more} checks)" if more else "")
        found.append((node, "ERROR", group.summary))
    lines = []
    for node, status, summary in found:
        line = f"{node} {status} {_one_line(summary)}"
        if len(line) <= width:
            lines.append(line)
        else:
            lines.append(truncate(f"{node} {status}", width))
            lines.append(truncate(f"    {_one_line(summary)}", width))
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())
