"""The integration's own claims: the events its setup report says it added.

PostHog's wizard and the coding agents it ships end an integration with a
report: ``posthog-setup-report.md`` (a Markdown table of event names,
descriptions and files, or a list of them) and ``.posthog-events.json`` (an
array of ``{"event_name", "event_description", "file"}``, or of ``{"event",
"description", "file"}`` in the newer flow, which keeps it under
``.posthog-wizard-cache/``). Both are read as text, never executed::

    report = read_setup_report(Path("my_app"))   # harness.run.SetupReport | None
    for claim in report.events:
        print(claim.name, claim.location, claim.where)

What cannot be read (junk JSON, a table with no event column) becomes a note
on the report, not an exception: the app's files are the app's business.
"""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

from harness.run import ClaimedEvent
from harness.run import SetupReport
from harness.run import SourceLocation

REPORT_NAME = "posthog-setup-report.md"
EVENTS_JSON = ".posthog-events.json"
#: Folders of the app where a report is looked for, the root first.
REPORT_DIRS = ("", "docs", ".posthog-wizard-cache")
#: Keys of a ``.posthog-events.json`` entry: the event's name, and where it is sent.
JSON_NAME_KEYS = ("event_name", "event", "name")
JSON_WHERE_KEYS = ("file", "files", "location", "route", "where")
# A file bigger than this is not a setup report.
MAX_BYTES = 512 * 1024

_NAME_RE = re.compile(r"^\$?[A-Za-z][\w.:\-]*( [\w.:\-]+){0,5}$")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")
_LEADING_CODE_RE = re.compile(r"^(?:\*\*|__)?`([^`]+)`(?:\*\*|__)?(.*)$")
_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_ROUTE_RE = re.compile(r"(?<![\w.:/])(/[A-Za-z0-9_\-<>{}:./]*[A-Za-z0-9_>}\-])(?=[\s`'\",;:.)|]|$)")
_EVENT_HEADER_RE = re.compile(r"^(event|event name|event_name|name of the event|events?)$", re.I)
_WHERE_HEADER_RE = re.compile(r"(file|location|where|route|path|trigger|flow|endpoint)", re.I)
_EVENT_SECTION_RE = re.compile(r"\bevents?\b", re.I)


def report_files(root: Path) -> list[Path]:
    """The setup report files of the app in ``root``: ``posthog-setup-report.md``
    in any case, and ``.posthog-events.json``, in the root, ``docs/`` or the
    wizard's cache folder."""
    found: list[Path] = []
    for folder in REPORT_DIRS:
        directory = root / folder if folder else root
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.name.lower() in (REPORT_NAME, EVENTS_JSON) and path.is_file():
                found.append(path)
    return found


def read_setup_report(root: Path) -> SetupReport | None:
    """Every event the app's setup report(s) claim, or None when it has none.

    :param root: the app's folder.
    """
    paths = report_files(root)
    if not paths:
        return None
    events: list[ClaimedEvent] = []
    notes: list[str] = []
    for path in paths:
        shown = path.relative_to(root).as_posix()
        text, note = _read_text(path, shown)
        if text is None:
            notes.append(note)
            continue
        parse = parse_events_json if path.suffix == ".json" else parse_markdown
        found, found_notes = parse(text, shown)
        events += found
        notes += found_notes
    files = tuple(p.relative_to(root).as_posix() for p in paths)
    return SetupReport(files=files, events=tuple(events), notes=tuple(notes))


def _read_text(path: Path, shown: str) -> tuple[str | None, str]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, f"{shown}: over {MAX_BYTES // 1024} KiB, not read as a setup report"
        return path.read_text(encoding="utf-8"), ""
    except UnicodeDecodeError:
        return None, f"{shown}: not UTF-8 text, not read"
    except OSError as exc:
        return None, f"{shown}: cannot be read ({exc.strerror})"


# -- .posthog-events.json -----------------------------------------------------


def parse_events_json(text: str, file: str) -> tuple[list[ClaimedEvent], list[str]]:
    """Claims of a ``.posthog-events.json``: an array of objects naming an event
    (``event_name``/``event``/``name``) and where it goes (``file``...)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [f"{file}:{exc.lineno}: not JSON ({exc.msg}); its events were not read"]
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        data = data["events"]
    if not isinstance(data, list):
        return [], [f"{file}: expected an array of {{event_name, file}} objects, got {_kind(data)}"]
    lines = text.splitlines()
    events: list[ClaimedEvent] = []
    notes: list[str] = []
    for number, entry in enumerate(data, start=1):
        name = _json_name(entry)
        if name is None:
            keys = "/".join(JSON_NAME_KEYS)
            notes.append(f"{file}: entry {number} has no event name (a string {keys})")
            continue
        line = _line_of(lines, json.dumps(name))
        where = _json_where(entry)
        location = SourceLocation(file, line, _clip(lines[line - 1].strip()) if lines else "")
        events.append(ClaimedEvent(name, location, where, routes_in(where)))
    return events, notes


def _json_name(entry: t.Any) -> str | None:
    if isinstance(entry, str):
        return entry.strip() or None
    if not isinstance(entry, dict):
        return None
    for key in JSON_NAME_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _json_where(entry: t.Any) -> str:
    if not isinstance(entry, dict):
        return ""
    parts: list[str] = []
    for key in JSON_WHERE_KEYS:
        value = entry.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [v for v in value if isinstance(v, str)]
    return ", ".join(parts)


def _line_of(lines: list[str], needle: str) -> int:
    """The first line holding ``needle`` (1-based), 1 when none does."""
    for number, line in enumerate(lines, start=1):
        if needle in line:
            return number
    return 1


# -- posthog-setup-report.md ----------------------------------------------------


def parse_markdown(text: str, file: str) -> tuple[list[ClaimedEvent], list[str]]:
    """Claims of a Markdown setup report.

    Read: tables with an ``Event``/``Event name`` column (a file/route/
    location column gives ``where``); and, under a heading that mentions
    events, bullets that start with a code span (``- `user_signed_up` — ...``)
    and headings that are one (``### `user_signed_up```). Fenced code is skipped.
    """
    lines = text.splitlines()
    events: list[ClaimedEvent] = []
    notes: list[str] = []
    in_events_section = False
    fenced = False
    number = 0
    while number < len(lines):
        line = lines[number]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and _is_table_start(lines, number):
            found, note, number = _table(lines, number, file)
            events += found
            notes += [note] if note else []
            continue
        elif not fenced and (heading := _HEADING_RE.match(line)):
            claim = _code_claim(heading[2], file, number + 1, line)
            if claim is not None and in_events_section:
                events.append(claim)
            else:
                in_events_section = bool(_EVENT_SECTION_RE.search(heading[2]))
        elif not fenced and in_events_section and (bullet := _BULLET_RE.match(line)):
            claim = _code_claim(bullet[1], file, number + 1, line)
            if claim is not None:
                events.append(claim)
        number += 1
    return events, notes


def _code_claim(text: str, file: str, line: int, raw: str) -> ClaimedEvent | None:
    """A claim from text that starts with a code span holding an event name."""
    match = _LEADING_CODE_RE.match(text.strip())
    if match is None or not _NAME_RE.match(match[1].strip()):
        return None
    where = match[2].strip().lstrip("\u2014\u2013-:").strip()
    return ClaimedEvent(
        match[1].strip(), SourceLocation(file, line, _clip(raw.strip())), where, routes_in(where)
    )


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|").removesuffix("|")
    return [cell.strip() for cell in body.split("|")]


def _is_table_start(lines: list[str], number: int) -> bool:
    return (
        "|" in lines[number]
        and number + 1 < len(lines)
        and _SEPARATOR_RE.match(lines[number + 1]) is not None
    )


def _table(lines: list[str], start: int, file: str) -> tuple[list[ClaimedEvent], str, int]:
    """The claims of the table whose header is ``lines[start]``; returns them, a
    note when it has no event column but looks like it lists events, and the
    line after the table."""
    header = [_plain(cell) for cell in _cells(lines[start])]
    end = start + 2
    while end < len(lines) and "|" in lines[end] and lines[end].strip():
        end += 1
    event_col = next((i for i, h in enumerate(header) if _EVENT_HEADER_RE.match(h)), None)
    if event_col is None:
        note = ""
        if any(_EVENT_SECTION_RE.search(h) for h in header):
            note = (
                f"{file}:{start + 1}: a table mentions events but has no 'Event' or "
                f"'Event name' column ({' | '.join(header)}); its rows were not read"
            )
        return [], note, end
    where_cols = [i for i, h in enumerate(header) if i != event_col and _WHERE_HEADER_RE.search(h)]
    events: list[ClaimedEvent] = []
    for number in range(start + 2, end):
        cells = _cells(lines[number])
        if event_col >= len(cells):
            continue
        where = ", ".join(cells[i] for i in where_cols if i < len(cells) and cells[i])
        others = " ".join(cell for i, cell in enumerate(cells) if i != event_col)
        location = SourceLocation(file, number + 1, _clip(lines[number].strip()))
        for name in _names_in_cell(cells[event_col]):
            events.append(ClaimedEvent(name, location, where, routes_in(others)))
    return events, "", end


def _names_in_cell(cell: str) -> list[str]:
    """The event names of a table cell: its code spans, else its plain text."""
    spans = re.findall(r"`([^`]+)`", cell)
    candidates = spans or [_plain(cell)]
    return [c.strip() for c in candidates if _NAME_RE.match(c.strip())]


def _plain(cell: str) -> str:
    """A cell without Markdown emphasis and code marks (``**`user_signed_up`**``)."""
    text = cell.replace("**", "").replace("`", "").strip()
    while len(text) > 4 and text.startswith("__") and text.endswith("__"):
        text = text[2:-2].strip()
    return text


def routes_in(text: str) -> tuple[str, ...]:
    """The routes (``/signup``, ``/api/notes``, ``/posts/<int:id>``) named in ``text``;
    a file path (``app/routes.py``) is not one."""
    found = []
    for match in _ROUTE_RE.finditer(text):
        route = match[1]
        if re.search(r"\.(py|html|js|ts|md|json|txt)$", route):
            continue
        found.append(route.rstrip("."))
    return tuple(dict.fromkeys(found))


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: t.Any) -> str:
    names = {dict: "an object", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
