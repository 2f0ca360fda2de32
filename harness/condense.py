"""One error block per cause: an app that could not be judged is shown once.

When discovery finds nothing, every check of the app errors with the same
message; pytest would print it once per check (14 blocks and 14 summary
lines). While pytest writes its ERRORS section and short summary, this plugin
keeps the first report of each (app, message) group, adds which other checks
share it, and hides the rest; afterwards it puts them back, so the counts,
``--junitxml`` and the exit status still see every error::

    config.pluginmanager.register(ErrorCondenser(), "posthog-verify-condenser")
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

import pytest

if t.TYPE_CHECKING:
    from _pytest._io import TerminalWriter

RESULT_PROPERTY = "posthog_verify"


def _group_key(report: pytest.TestReport) -> tuple[str, str] | None:
    """``(app, summary)`` of an item's error, None for other reports."""
    for key, value in getattr(report, "user_properties", ()):
        if key == RESULT_PROPERTY and isinstance(value, str):
            data = json.loads(value)
            return str(data["app"]), str(data["result"]["summary"])
    return None


@dataclasses.dataclass
class _Crash:
    """What the short summary line reads (``reprcrash``)."""

    path: str
    lineno: int
    message: str


class _Grouped:
    """The kept report's longrepr: the message, then the checks that share it."""

    def __init__(self, original: t.Any, others: list[str], app: str, summary: str) -> None:
        self.original = original
        self.note = f"(the same for {len(others)} other check(s) of {app}: {', '.join(others)})"
        crash = getattr(original, "reprcrash", None)
        # The short summary line is cut at the terminal's width: the count goes first.
        self.reprcrash = _Crash(
            getattr(crash, "path", ""),
            getattr(crash, "lineno", 0),
            f"(+{len(others)} checks, same cause) {summary}",
        )

    def toterminal(self, tw: TerminalWriter) -> None:
        if hasattr(self.original, "toterminal"):
            self.original.toterminal(tw)
        else:
            tw.line(str(self.original))
        tw.line(self.note)

    def __str__(self) -> str:
        return f"{self.original}\n{self.note}"


class ErrorCondenser:
    """Shows each (app, error message) once in pytest's own error sections."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: t.Any) -> t.Generator[None]:
        errors: list[t.Any] = terminalreporter.stats.get("error", [])
        original = list(errors)
        kept, restore = condense(original)
        errors[:] = kept
        try:
            return (yield)
        finally:
            errors[:] = original
            for report, longrepr in restore:
                report.longrepr = longrepr


def condense(reports: list[t.Any]) -> tuple[list[t.Any], list[tuple[t.Any, t.Any]]]:
    """The reports to show, and the (report, longrepr) pairs to restore after."""
    groups: dict[tuple[str, str], list[t.Any]] = {}
    kept: list[t.Any] = []
    for report in reports:
        key = _group_key(report) if isinstance(report, pytest.TestReport) else None
        if key is None:
            kept.append(report)
            continue
        if key not in groups:
            kept.append(report)
        groups.setdefault(key, []).append(report)
    restore = []
    for (app, summary), members in groups.items():
        if len(members) < 2:
            continue
        first = members[0]
        others = [m.nodeid.split("::", 1)[-1].split("@", 1)[0] for m in members[1:]]
        restore.append((first, first.longrepr))
        first.longrepr = _Grouped(first.longrepr, others, app, summary)
    return kept, restore
