"""The setup report parser: Markdown tables, lists and headings, the two JSON
shapes, where reports are found, and junk read as notes, never raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.static.claims import parse_events_json
from harness.static.claims import parse_markdown
from harness.static.claims import read_setup_report
from harness.static.claims import routes_in

WIZARD = """\
# PostHog post-wizard report

The wizard has completed a deep integration of your Flask project.

| Event Name | Description | File |
|------------|-------------|------|
| `user_signed_up` | A new account is created at /signup | `app/auth/routes.py` |
| **note_created** | A note is saved (POST /api/notes) | app/api.py |
| `$exception` | Errors | app/__init__.py |

## Next steps

- [Analytics basics](https://us.posthog.com/project/1/dashboard/2)

## Verify before merging

- [ ] Run the test suite
- `posthog` was added to requirements.txt
"""

LISTS = """\
# Setup report

## Events added

- `user_logged_in` — sent by /login in app/pages.py
- **`checkout_started`**: the payment flow
1. `report_exported` (app/export.py)

### `user_logged_out`

Sent when the user signs out.

```markdown
- `in_a_fence`
```

## Files changed

- `app/analytics.py` — the client
"""


def names(text: str) -> list[str]:
    return [claim.name for claim in parse_markdown(text, "posthog-setup-report.md")[0]]


def test_a_wizard_table_gives_names_lines_and_files() -> None:
    claims, notes = parse_markdown(WIZARD, "posthog-setup-report.md")
    assert [(c.name, str(c.location), c.where) for c in claims] == [
        ("user_signed_up", "posthog-setup-report.md:7", "`app/auth/routes.py`"),
        ("note_created", "posthog-setup-report.md:8", "app/api.py"),
        ("$exception", "posthog-setup-report.md:9", "app/__init__.py"),
    ]
    assert claims[0].routes == ("/signup",)
    assert claims[1].routes == ("/api/notes",)
    assert claims[0].location.text.startswith("| `user_signed_up` |")
    assert notes == []


def test_lists_and_headings_count_only_under_an_events_heading() -> None:
    claims, _ = parse_markdown(LISTS, "r.md")
    assert [c.name for c in claims] == [
        "user_logged_in",
        "checkout_started",
        "report_exported",
        "user_logged_out",
    ]
    assert claims[0].routes == ("/login",)
    assert claims[0].where == "sent by /login in app/pages.py"
    assert claims[3].location.line == 9


def test_checklists_links_and_fenced_code_are_not_claims() -> None:
    assert "posthog" not in names(WIZARD)
    assert "in_a_fence" not in names(LISTS)
    assert "app/analytics.py" not in names(LISTS)


def test_a_table_about_events_without_an_event_column_is_noted() -> None:
    text = "| Events we added | Where |\n|---|---|\n| signup | app.py |\n"
    claims, notes = parse_markdown(text, "r.md")
    assert claims == []
    assert notes == [
        "r.md:1: a table mentions events but has no 'Event' or 'Event name' column "
        "(Events we added | Where); its rows were not read"
    ]


def test_other_tables_are_ignored_silently() -> None:
    text = "| Variable | Value |\n|---|---|\n| POSTHOG_HOST | https://x |\n"
    assert parse_markdown(text, "r.md") == ([], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[{"event_name": "user_signed_up", "event_description": "x", "file": "app/auth.py"}]',
            [("user_signed_up", "app/auth.py")],
            id="wizard-v1",
        ),
        pytest.param(
            '[\n  {"event": "note_created", "description": "x", "file": "/api/notes in api.py"}\n]',
            [("note_created", "/api/notes in api.py")],
            id="wizard-v2",
        ),
        pytest.param('{"events": ["a_b", "c_d"]}', [("a_b", ""), ("c_d", "")], id="names"),
    ],
)
def test_events_json_shapes(text: str, expected: list[tuple[str, str]]) -> None:
    claims, notes = parse_events_json(text, ".posthog-events.json")
    assert [(c.name, c.where) for c in claims] == expected
    assert notes == []


def test_events_json_keeps_the_line_of_each_name() -> None:
    text = '[\n  {"event": "a_b"},\n  {"event": "c_d", "file": "/signup"}\n]'
    claims, _ = parse_events_json(text, ".posthog-events.json")
    assert [c.location.line for c in claims] == [2, 3]
    assert claims[1].routes == ("/signup",)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        pytest.param("{oops", ".posthog-events.json:1: not JSON (", id="not-json"),
        pytest.param('"a"', "expected an array of {event_name, file} objects, got a string"),
        pytest.param('[{"file": "x.py"}]', "entry 1 has no event name", id="no-name"),
    ],
)
def test_junk_json_is_a_note(text: str, note: str) -> None:
    claims, notes = parse_events_json(text, ".posthog-events.json")
    assert claims == []
    assert len(notes) == 1
    assert note in notes[0], notes


def test_routes_are_told_from_files_and_urls() -> None:
    text = "GET /posts/<int:id>, app/routes.py, https://x.io/a and (/login)."
    assert routes_in(text) == ("/posts/<int:id>", "/login")


def test_reports_are_found_in_the_root_docs_and_the_wizard_cache(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "PostHog-Setup-Report.md").write_text(WIZARD)
    (tmp_path / ".posthog-wizard-cache").mkdir()
    (tmp_path / ".posthog-wizard-cache" / ".posthog-events.json").write_text(
        '[{"event": "user_logged_in", "file": "app/auth.py"}]'
    )
    report = read_setup_report(tmp_path)
    assert report is not None
    assert report.files == (
        "docs/PostHog-Setup-Report.md",
        ".posthog-wizard-cache/.posthog-events.json",
    )
    assert [c.name for c in report.events][-1] == "user_logged_in"
    assert str(report.events[-1].location) == ".posthog-wizard-cache/.posthog-events.json:1"


def test_no_report_is_none(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("| Event | x |\n|---|---|\n| a | b |\n")
    assert read_setup_report(tmp_path) is None


def test_an_unreadable_report_is_a_note(tmp_path: Path) -> None:
    (tmp_path / "posthog-setup-report.md").write_bytes(b"\xff\xfe\x00bad")
    report = read_setup_report(tmp_path)
    assert report is not None
    assert report.events == ()
    assert report.notes == ("posthog-setup-report.md: not UTF-8 text, not read",)
