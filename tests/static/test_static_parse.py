"""One parse per file while an app is read: discovery, static analysis and
set-up detection share the trees inside :func:`shared_parses`, and nothing is
kept after it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.static.walk import parse_file
from harness.static.walk import shared_parses


def test_inside_the_block_every_reader_gets_the_same_tree(tmp_path: Path) -> None:
    source = tmp_path / "app.py"
    source.write_text("import posthog\n")
    with shared_parses():
        first = parse_file(source)
        assert parse_file(source) is first
    assert parse_file(source) is not first  # outside: a fresh parse, nothing kept


def test_a_file_changed_inside_the_block_is_parsed_again(tmp_path: Path) -> None:
    source = tmp_path / "app.py"
    source.write_text("a = 1\n")
    with shared_parses():
        before = parse_file(source)
        source.write_text("a = 22\n")
        os.utime(source, ns=(1, 1))  # a new mtime even on a coarse clock
        after = parse_file(source)
    assert after is not before
    assert after.body[0].value.value == 22  # type: ignore[attr-defined]


def test_a_syntax_error_is_raised_to_every_reader(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("def (:\n")
    with shared_parses():
        for _ in range(2):
            with pytest.raises(SyntaxError):
                parse_file(source)
