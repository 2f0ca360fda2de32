"""No fixed sleep in the harness: every wait is a condition with a deadline.

Read with ``ast``, so a comment or a string mentioning sleep does not count,
and ``from time import sleep as pause`` does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def sleep_calls(source: str) -> list[int]:
    """Line numbers of calls to ``time.sleep`` (under any alias)."""
    tree = ast.parse(source)
    time_names = {"time"}
    sleep_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            time_names |= {a.asname or a.name for a in node.names if a.name == "time"}
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            sleep_names |= {a.asname or a.name for a in node.names if a.name == "sleep"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "sleep"
            and isinstance(func.value, ast.Name)
            and func.value.id in time_names
        ) or (isinstance(func, ast.Name) and func.id in sleep_names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import time\ntime.sleep(1)\n", [2], id="time.sleep"),
        pytest.param("import time as tm\ntm.sleep(1)\n", [2], id="alias"),
        pytest.param("from time import sleep as pause\npause(1)\n", [2], id="from-import"),
        pytest.param("# time.sleep(1)\nx = 'time.sleep(1)'\n", [], id="comment-and-string"),
        pytest.param("import threading\nthreading.Event().wait(1)\n", [], id="event-wait"),
    ],
)
def test_detector(source: str, expected: list[int]) -> None:
    assert sleep_calls(source) == expected


def test_harness_has_no_fixed_sleeps() -> None:
    offenders = {
        str(path.relative_to(HARNESS)): lines
        for path in sorted(HARNESS.rglob("*.py"))
        if (lines := sleep_calls(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
