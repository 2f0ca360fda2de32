"""What one app's run was, beyond its verdicts: discovery, set-up, steps, isolation.

The Run is not kept after its checks ran (memory stays flat over hundreds of
apps), so the facts a report shows are taken from it here, as a small JSON-able
dict that rides ``TestReport.user_properties`` with each verdict::

    facts = run_facts(run, versions=runtime_versions())
    facts["steps"][0]  # {"index": 0, "step": "anon_browse", "status": "ok", ...}

Bodies, headers and tracebacks are cut short: a grade book of 500 apps must
stay small enough to open.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import typing as t

from harness.report.connections import NOT_RECORDED
from harness.report.connections import merge_connections
from harness.scenario.outcomes import EXPECTED_TO_RAISE
from harness.scenario.outcomes import step_failed

if t.TYPE_CHECKING:
    from harness.run import Exchange
    from harness.run import Run
    from harness.run import SetupCommand

TAIL_CHARS = 600  # a set-up command's output, a traceback tail
#: Where :func:`runtime_versions` reads its versions, said in the report.
VERSIONS_SOURCE = "pytest process (the app's child process runs the same interpreter)"


def runtime_versions() -> dict[str, str]:
    """Python, Flask and the PostHog SDK as installed where pytest runs."""
    versions = {"python": platform.python_version()}
    for package in ("flask", "posthog", "werkzeug", "gunicorn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def run_facts(run: Run, *, versions: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The report's view of ``run``.

    :param versions: used (and labelled as read in the pytest process) when
        the run itself recorded none in ``Run.versions``.
    """
    if run.versions:
        shown_versions, source = dict(run.versions), "the app's process"
    else:
        shown_versions, source = dict(versions or {}), VERSIONS_SOURCE
    connections = merge_connections(run.connections)
    return {
        "discovery": {
            "target": run.app.target,
            "found_by": run.app.found_by,
            "forms": _forms(run.exchanges),
            "setup": [_setup(command) for command in run.setup],
        },
        "mode": run.mode,
        "steps": [_step(exchange) for exchange in run.exchanges],
        "steps_skipped": dict(run.steps_skipped),
        "isolation": run.isolation or NOT_RECORDED,
        "connections": connections,
        "connections_left_out": len(run.connections) - sum(c["count"] for c in connections),
        "versions": shown_versions,
        "versions_source": source,
    }


def step_status(exchange: Exchange) -> str:
    """``ok``, ``unexpected`` (answered, not as the step expected), ``failed``
    (the app raised or died serving it) or ``no answer``."""
    if exchange.error is not None and exchange.status is None:
        return "no answer"
    if step_failed(exchange):
        return "failed"
    # A 5xx the child recorded no exception for is still the app failing the step.
    if (exchange.status or 0) >= 500 and exchange.kind not in EXPECTED_TO_RAISE:
        return "failed"
    if exchange.expected and not _matches(exchange.status, exchange.expected):
        return "unexpected"
    return "ok"


def _matches(status: int | None, expected: str) -> bool:
    """``expected`` is ``"2xx|3xx"``-style: alternatives of digits and ``x``."""
    text = str(status)
    for option in expected.split("|"):
        pattern = re.escape(option.strip()).replace("x", r"\d")
        if re.fullmatch(pattern, text):
            return True
    return False


def _step(exchange: Exchange) -> dict[str, t.Any]:
    failure = exchange.failure
    return {
        "index": exchange.index,
        "step": exchange.step,
        "kind": exchange.kind,
        "request": f"{exchange.method} {exchange.path}",
        "user": exchange.user,
        "http_status": exchange.status,
        "expected": exchange.expected,
        "status": step_status(exchange),
        "duration_s": round(exchange.duration_s, 3),
        "decisions": list(exchange.decisions),
        "error": exchange.error,
        "failure": None
        if failure is None
        else {
            "cause": failure.cause,
            "location": str(failure.location) if failure.location else None,
            "traceback_tail": failure.traceback_tail[-TAIL_CHARS:],
            "in_integration": failure.in_integration,
        },
        "redirect_of": exchange.redirect_of,
    }


def _forms(exchanges: t.Sequence[Exchange]) -> list[dict[str, t.Any]]:
    """The forms the driver filled, one per step that submitted one."""
    forms = []
    for exchange in exchanges:
        fields = exchange.form if exchange.form is not None else exchange.json
        if exchange.method != "POST" or not isinstance(fields, dict):
            continue
        forms.append(
            {
                "step": exchange.step,
                "kind": exchange.kind,
                "request": f"{exchange.method} {exchange.path}",
                "encoding": "form" if exchange.form is not None else "json",
                "fields": sorted(str(name) for name in fields),
            }
        )
    return forms


def _setup(command: SetupCommand) -> dict[str, t.Any]:
    return {
        "command": list(command.command),
        "reason": command.reason,
        "exit_code": command.exit_code,
        "duration_s": round(command.duration_s, 3),
        "output_tail": command.output_tail[-TAIL_CHARS:],
    }
