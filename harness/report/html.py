"""The HTML grade book: one self-contained file, apps by checks.

Rows are rendered on the server side (the page shows at once, 500 apps
included); what a click opens (a check's evidence, the app's step log) sits in
one JSON block that the page's script reads on demand. Evidence is cut to a
budget per app so the file stays small: the JSON report has it whole::

    write_text(Path("grades.html"), html_report(load_report(Path("grades.json"))))
"""

from __future__ import annotations

import importlib.resources
import json
import typing as t

import jinja2

from harness.report.grading import WEIGHT
from harness.report.grading import grade_of
from harness.report.grading import ranked
from harness.report.grading import severity_of
from harness.report.json_report import apps_of
from harness.report.model import AppReport
from harness.report.model import Totals
from harness.report.model import check_columns
from harness.report.terminal import GLYPHS
from harness.report.terminal import NOT_RUN
from harness.verdict import Status

EVIDENCE_ITEMS = 3  # per check
ITEM_CHARS = 800  # one evidence item, as JSON
APP_EVIDENCE_CHARS = 12_000  # all of an app's evidence together
MAX_STEPS = 40
_TEXT_CHARS = 600  # a summary, a traceback tail, a decision


def html_report(report: t.Mapping[str, t.Any]) -> str:
    """The grade book of a report dict (built, loaded or merged)."""
    apps = ranked(apps_of(report))
    columns = check_columns(apps)
    raw = {str(app.get("path")): app for app in report.get("apps", [])}
    rows = [_row(app, columns, rank) for rank, app in enumerate(apps, start=1)]
    details = [_details(app, raw.get(app.path, {}), columns) for app in apps]
    template = _environment().get_template("gradebook.html.j2")
    return template.render(
        title=_title(report, Totals.of(apps)),
        provenance=_provenance(report),
        columns=[
            {"id": c, "number": i, "severity": severity_of(c).value}
            for i, c in enumerate(columns, start=1)
        ],
        rows=rows,
        statuses=[s.value for s in Status],
        glyphs={s.value: g for s, g in GLYPHS.items()},
        weights={s.value: w for s, w in WEIGHT.items()},
        data=_script_json({"apps": details, "columns": list(columns)}),
    )


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(_template_source)
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def _template_source(name: str) -> str:
    return importlib.resources.files("harness.report").joinpath(name).read_text("utf-8")


def _title(report: t.Mapping[str, t.Any], totals: Totals) -> str:
    overall = totals.overall
    if not overall.apps:
        return "posthog-verify: no apps were judged"
    return (
        f"posthog-verify: {overall.apps_passed} of {overall.apps} app(s) pass, "
        f"{overall.apps_failed} failed, {overall.apps_errored} could not be judged"
    )


def _provenance(report: t.Mapping[str, t.Any]) -> str:
    def text(field: str) -> str:
        value = report.get(field, "unknown")
        return value if isinstance(value, str) else ", ".join(value)

    parts = [
        f"harness {text('harness_version')}",
        f"posthog {text('posthog_version')}",
        f"Python {text('python_version')}",
    ]
    if shard := report.get("shard"):
        parts.append(f"shard {shard['index']}/{shard['count']}")
    if merged := report.get("merged_from"):
        parts.append(f"merged from {len(merged)} report(s)")
    parts.append(f"generated {report.get('generated_at', '?')}")
    return " · ".join(parts)


def _row(app: AppReport, columns: t.Sequence[str], rank: int) -> dict[str, t.Any]:
    grade = grade_of(app)
    by_id = {result.check_id: result for result in app.checks}
    cells = []
    for check_id in columns:
        result = by_id.get(check_id)
        status = result.status.value if result else "none"
        cells.append(
            {
                "check": check_id,
                "status": status,
                "glyph": GLYPHS[result.status] if result else NOT_RUN,
                "order": result.status.severity if result else -1,
                "title": f"{check_id}: {status}" + (f": {result.summary}" if result else ""),
            }
        )
    return {
        "rank": rank,
        "app": app.app,
        "path": app.path,
        "status": app.status.value,
        "score": grade.shown,
        "score_value": -1 if grade.score is None else grade.score,
        "serves": int(grade.serves),
        "reason": grade.reason,
        "cells": cells,
        "present": sorted({c["status"] for c in cells}),
    }


def _details(
    app: AppReport, raw: t.Mapping[str, t.Any], columns: t.Sequence[str]
) -> dict[str, t.Any]:
    """What the panel shows for one app, evidence cut to the app's budget."""
    budget = APP_EVIDENCE_CHARS
    checks: dict[str, t.Any] = {}
    for result in app.checks:
        items, budget, left = _evidence(result.evidence, budget)
        checks[result.check_id] = {
            "status": result.status.value,
            "severity": severity_of(result.check_id).value,
            "summary": _cut(result.summary),
            "evidence": items,
            "evidence_left_out": left,
        }
    steps = list(raw.get("steps", []))
    return {
        "app": app.app,
        "path": app.path,
        "status": app.status.value,
        "reason": grade_of(app).reason,
        "error": app.error,
        "checks": checks,
        "steps": [_step(step) for step in steps[:MAX_STEPS]],
        "steps_left_out": max(len(steps) - MAX_STEPS, 0),
        "steps_skipped": raw.get("steps_skipped", {}),
        "discovery": raw.get("discovery"),
        "isolation": raw.get("isolation"),
        "versions": raw.get("versions"),
        "versions_source": raw.get("versions_source"),
        "connections": list(raw.get("connections", []))[:10],
    }


def _evidence(evidence: t.Sequence[t.Any], budget: int) -> tuple[list[str], int, int]:
    """Pretty JSON texts that fit; the budget left; how many items were left out."""
    shown: list[str] = []
    for item in evidence[:EVIDENCE_ITEMS]:
        text = json.dumps(item, indent=2, ensure_ascii=False, default=repr)
        if len(text) > ITEM_CHARS:
            text = text[: ITEM_CHARS - 40] + f"\n… {len(text) - ITEM_CHARS + 40} more characters"
        if len(text) > budget:
            break
        budget -= len(text)
        shown.append(text)
    return shown, budget, len(evidence) - len(shown)


def _step(step: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    failure = step.get("failure") or None
    return {
        "index": step.get("index"),
        "step": step.get("step"),
        "request": step.get("request"),
        "user": step.get("user"),
        "http_status": step.get("http_status"),
        "expected": step.get("expected"),
        "status": step.get("status"),
        "decisions": [_cut(str(d)) for d in step.get("decisions", [])][:8],
        "error": step.get("error"),
        "failure": None
        if not failure
        else {
            "cause": _cut(str(failure.get("cause", ""))),
            "location": failure.get("location"),
            "in_integration": failure.get("in_integration"),
        },
    }


def _cut(text: str, limit: int = _TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _script_json(value: t.Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` in it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
