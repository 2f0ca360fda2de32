"""The isolation an app ran under and the connections it tried, for reports.

``Run.connections`` holds one record per attempt; reports carry them merged
(one entry per destination and outcome, with a count) and summarise them in a
line, so a chatty app cannot flood a report::

    merged = merge_connections(run.connections)   # JSON-able dicts
    isolation_line(apps)    # "isolation: network+pid namespaces (3 apps)"
    connection_line(app)    # "shop: tried 203.0.113.9:80/tcp unreachable x2, ..."
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from harness.report.model import AppReport
    from harness.run import ConnectionAttempt

#: What the facts say of an app whose isolation nobody recorded (it never booted).
NOT_RECORDED = "not recorded"
#: Entries a report keeps per app; the rest is counted, not listed.
MAX_ENTRIES = 50
_KEY = ("host", "port", "protocol", "outcome", "via", "boot")


def merge_connections(attempts: t.Iterable[ConnectionAttempt]) -> list[dict[str, t.Any]]:
    """One dict per distinct attempt (``_KEY``), first seen first, with the
    ``count`` and the ``steps`` it happened in (None: at boot or in a thread)."""
    merged: dict[tuple[t.Any, ...], dict[str, t.Any]] = {}
    for attempt in attempts:
        fields = dataclasses.asdict(attempt)
        key = tuple(fields[k] for k in _KEY)
        entry = merged.get(key)
        if entry is None:
            if len(merged) >= MAX_ENTRIES:
                continue
            entry = merged[key] = {k: fields[k] for k in _KEY} | {"count": 0, "steps": []}
        entry["count"] += 1
        if fields["step"] not in entry["steps"]:
            entry["steps"].append(fields["step"])
    return list(merged.values())


def _isolation(app: AppReport) -> str:
    """The isolation the app's facts name; "" when none was recorded."""
    mode = str(app.facts.get("isolation") or "")
    return "" if mode == NOT_RECORDED else mode


def isolation_line(apps: t.Sequence[AppReport]) -> str:
    """``isolation: <mode> (N apps)``, one clause per mode in force."""
    counts: dict[str, int] = {}
    for app in apps:
        mode = _isolation(app) or "none (not booted)"
        counts[mode] = counts.get(mode, 0) + 1
    clauses = [f"{mode} ({n} app{'' if n == 1 else 's'})" for mode, n in counts.items()]
    return "isolation: " + "; ".join(clauses)


def _describe(entry: t.Mapping[str, t.Any]) -> str:
    where = entry["host"] if entry.get("port") is None else f"{entry['host']}:{entry['port']}"
    text = f"{where}/{entry['protocol']} {entry['outcome']}"
    if entry.get("boot") == "no_env":
        text += " (no-env boot)"
    return text + (f" x{entry['count']}" if entry.get("count", 1) > 1 else "")


def connection_line(app: AppReport) -> str | None:
    """``app: tried ...`` naming every distinct attempt, or None for none.

    A ``mock`` outcome is always news: only a request the guard redirected
    (to a host other than the injected one) gets it.
    """
    connections = app.facts.get("connections") or ()
    if not connections:
        return None
    return f"{app.app}: tried {', '.join(_describe(e) for e in connections)}"


def sandbox_lines(apps: t.Sequence[AppReport]) -> list[str]:
    """The isolation line, then a line per app that tried to connect anywhere."""
    if not apps or not any(_isolation(app) or app.facts.get("connections") for app in apps):
        return []
    lines = [isolation_line(apps)]
    lines.extend(line for app in apps if (line := connection_line(app)) is not None)
    return lines
