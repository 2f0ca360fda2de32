"""Turn the instrumentation's records back into :mod:`harness.run` records.

The child writes JSON lines (:mod:`harness.subject.instrument`); in process the
records sit in a list. Either way :func:`parse_records` gives one
:class:`Observations`, the part of a :class:`harness.run.Run` the app's own
interpreter saw::

    observations = read_log(Path("/tmp/run/log.jsonl"))
    observations.clients[0].phase  # "boot"
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from harness.run import AtexitRegistration
from harness.run import BootFailure
from harness.run import CaptureCall
from harness.run import ClientConstruction
from harness.run import ConnectionAttempt
from harness.run import EnqueuedMessage
from harness.run import Phase
from harness.run import SourceLocation
from harness.run import StepFailure
from harness.scenario.plan import Route

#: The exception the harness's probe raises on purpose (``harness.subject.instrument``).
PROBE_ERROR = "PosthogVerifyProbeError"

if t.TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


@dataclasses.dataclass(frozen=True)
class OutboundRequest:
    """A request the app tried to send elsewhere than the mock.

    :param action: ``"redirected"`` (PostHog-shaped: sent to the mock instead)
        or ``"refused"``.
    :param via: ``"requests"``, ``"httpx"`` or ``"socket"``.
    """

    action: str
    url: str
    via: str
    original_host: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Observations:
    """What the instrumentation recorded, so far, in the app's interpreter."""

    clients: tuple[ClientConstruction, ...] = ()
    atexit: tuple[AtexitRegistration, ...] = ()
    capture_calls: tuple[CaptureCall, ...] = ()
    enqueued: tuple[EnqueuedMessage, ...] = ()
    routes: tuple[Route, ...] = ()
    probe_failed: str | None = None
    probe_entered: tuple[int, ...] = ()
    #: step -> why Flask re-raised that request's exception (``app.debug``...).
    propagated: dict[int, str] = dataclasses.field(default_factory=dict)
    outbound: tuple[OutboundRequest, ...] = ()
    connections: tuple[ConnectionAttempt, ...] = ()
    boot_failure: BootFailure | None = None
    imported: bool = False
    ready_url: str | None = None
    stop_signal: str | None = None
    exited: bool = False
    request_errors: dict[int, StepFailure] = dataclasses.field(default_factory=dict)
    unfinished: tuple[int, ...] = ()
    #: The ``runtime`` record (:mod:`harness.subject.runtime`): the log's schema
    #: version (None: no such record), the interpreter and package versions.
    schema: int | None = None
    executable: str = ""
    versions: dict[str, str] = dataclasses.field(default_factory=dict)


def _location(raw: dict[str, t.Any] | None) -> SourceLocation | None:
    if not raw:
        return None
    return SourceLocation(file=raw["file"], line=int(raw["line"]), text=raw.get("text", ""))


def _fields(cls: type, record: dict[str, t.Any]) -> dict[str, t.Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in record.items() if k in names}
    if "location" in values:
        values["location"] = _location(values["location"])
    return values


def boot_failure_from(record: dict[str, t.Any]) -> BootFailure:
    return BootFailure(
        phase=Phase(record.get("phase", "boot")),
        cause=record.get("cause", ""),
        app_raised=bool(record.get("app_raised", False)),
        detail=record.get("detail", ""),
    )


def parse_records(records: Iterable[dict[str, t.Any]]) -> Observations:
    """Build :class:`Observations` from records; unknown types are ignored."""
    lists: dict[str, list[t.Any]] = {
        "client": [],
        "atexit": [],
        "call": [],
        "enqueue": [],
        "outbound": [],
        "connection": [],
    }
    classes = {
        "client": ClientConstruction,
        "atexit": AtexitRegistration,
        "call": CaptureCall,
        "enqueue": EnqueuedMessage,
        "outbound": OutboundRequest,
        "connection": ConnectionAttempt,
    }
    scalars: dict[str, t.Any] = {}
    errors: dict[int, StepFailure] = {}
    open_steps: dict[int, int] = {}
    for record in records:
        kind = record.get("type")
        step = record.get("step")
        if kind == "request_error" and isinstance(step, int):
            # The first is the cause, except the probe's own exception: what its
            # error handler raised after it is the failure worth reporting.
            if step not in errors or PROBE_ERROR in errors[step].cause:
                errors[step] = step_failure_from(record)
        elif kind in ("request_start", "request_end") and isinstance(step, int):
            open_steps[step] = open_steps.get(step, 0) + (1 if kind == "request_start" else -1)
        elif kind in classes:
            lists[kind].append(classes[kind](**_fields(classes[kind], record)))
        elif kind == "routes":
            scalars["routes"] = tuple(Route.from_jsonable(r) for r in record.get("rules", ()))
        elif kind == "probe_failed":
            scalars["probe_failed"] = record.get("cause", "")
        elif kind == "probe_entered" and isinstance(record.get("step"), int):
            scalars["probe_entered"] = (*scalars.get("probe_entered", ()), record["step"])
        elif kind == "propagated" and isinstance(step, int):
            scalars.setdefault("propagated", {})[step] = str(record.get("reason", ""))
        elif kind == "boot_failure":
            scalars["boot_failure"] = boot_failure_from(record)
        elif kind == "imported":
            scalars["imported"] = True
        elif kind == "ready":
            scalars["ready_url"] = record.get("url")
        elif kind == "stopping":
            scalars.setdefault("stop_signal", record.get("signal"))
        elif kind == "exit":
            scalars["exited"] = True
        elif kind == "runtime":
            scalars["schema"] = record.get("schema")
            scalars["executable"] = str(record.get("executable", ""))
            scalars["versions"] = {str(k): str(v) for k, v in record.get("versions", {}).items()}
    return Observations(
        clients=tuple(lists["client"]),
        atexit=tuple(lists["atexit"]),
        capture_calls=tuple(lists["call"]),
        enqueued=tuple(lists["enqueue"]),
        outbound=tuple(lists["outbound"]),
        request_errors=errors,
        unfinished=tuple(sorted(step for step, count in open_steps.items() if count > 0)),
        connections=tuple(lists["connection"]),
        **scalars,
    )


def step_failure_from(record: dict[str, t.Any]) -> StepFailure:
    """A ``request_error`` record (:mod:`harness.subject.failures`) as a StepFailure."""
    return StepFailure(
        cause=str(record.get("cause", "")),
        location=_location(record.get("location")),
        traceback_tail=str(record.get("traceback_tail", "")),
        in_integration=bool(record.get("in_integration", False)),
        sdk_too_old=bool(record.get("sdk_too_old", False)),
    )


def read_log(path: Path) -> Observations:
    """Parse a JSON-lines log the child may still be writing: a truncated or
    garbled line (the child killed mid-write) is skipped."""
    records = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Observations()
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return parse_records(records)


def identified_in(observed: Observations, index: int, anonymous: str) -> str | None:
    """What the app identified the user as while serving exchange ``index``.

    The most frequent distinct id of the messages it enqueued during that
    exchange, other than the anonymous header's: a browser SDK would switch to
    the same id after ``identify``.
    """
    ids = [
        m.distinct_id
        for m in observed.enqueued
        if m.step == index and m.distinct_id and m.distinct_id != anonymous
    ]
    return max(set(ids), key=ids.count) if ids else None
