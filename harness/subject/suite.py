"""The app's own test suite, run the way its developers run it: ``python -m pytest``.

Run only when there is a baseline to compare with (``behaviour_preserved``
quotes the tests that pass on the baseline and fail on the app). Each run gets
a fresh copy of the app, the app's own interpreter, the same isolation as the
app's set-up commands (:func:`harness.subject.sandbox.run_sandboxed`: loopback
only, nothing it starts outlives it) and the set-up deadline::

    outcome = run_suite(app_root, tmp, python=sys.executable, env=env, timeout_s=120.0)
    outcome.tests        # {'tests/test_app.py::test_index_is_public': 'passed', ...}

The environment is the app's without any PostHog variable, as the developers'
CI would have it. Outcomes per test come from pytest's junit XML, written
outside the copy.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.limits import DEFAULT_LIMIT_BYTES
from harness.run import SuiteOutcome
from harness.subject.sandbox import run_sandboxed
from harness.subject.workspace import fresh_copy

_MESSAGE_CHARS = 300
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__"})


def has_suite(root: Path) -> bool:
    """The app holds pytest tests: ``tests/`` (or ``test/``) with a test module,
    or a ``test_*.py`` at its top."""
    if any(root.glob("test_*.py")):
        return True
    for folder in ("tests", "test"):
        if (root / folder).is_dir() and any(
            p
            for pattern in ("test_*.py", "*_test.py")
            for p in (root / folder).rglob(pattern)
            if _SKIP_DIRS.isdisjoint(p.parts)
        ):
            return True
    return False


def suite_command(python: str, junit: Path) -> tuple[str, ...]:
    """The pytest command: quiet, no cache written into the copy, a junit report."""
    return (python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", f"--junitxml={junit}")


def run_suite(
    app_root: Path,
    tmp: Path,
    *,
    python: str,
    env: t.Mapping[str, str],
    timeout_s: float,
    limit_bytes: int = DEFAULT_LIMIT_BYTES,
) -> SuiteOutcome | None:
    """Run the app's suite in a fresh copy under ``tmp``; None when it has none."""
    if not has_suite(app_root):
        return None
    started = time.monotonic()
    workspace = fresh_copy(app_root, tmp / "suite", limit_bytes=limit_bytes)
    junit = tmp / "suite-junit.xml"
    command = suite_command(python, junit)
    code, tail = run_sandboxed(command, workspace, env, timeout_s, tmp / "suite.log")
    tests, messages = read_junit(junit)
    outcome = SuiteOutcome(
        command=command,
        exit_code=code,
        tests=tests,
        messages=messages,
        output_tail=tail,
        duration_s=round(time.monotonic() - started, 3),
    )
    return _with_note(outcome, timeout_s)


def _with_note(outcome: SuiteOutcome, timeout_s: float) -> SuiteOutcome:
    """Say why the suite tells nothing, when it does not."""
    code, tail = outcome.exit_code, outcome.output_tail
    note = ""
    if code is None:
        note = f"the suite did not finish within {timeout_s:g} s (--posthog-setup-timeout)"
    elif "No module named pytest" in tail:
        note = "pytest is not importable by the app's interpreter: the suite was not run"
    elif code == 5:
        note = "pytest collected no tests"
    elif not outcome.tests and code != 0:
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
        note = f"pytest exited {code} without reporting any test: {last.strip()[:200]}"
    return dataclasses.replace(outcome, note=note) if note else outcome


def read_junit(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Outcome per test id (``file::Class::name`` as pytest shows it), and the
    first line of each failure; empty when there is no readable report."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}, {}
    tests: dict[str, str] = {}
    messages: dict[str, str] = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case.get("classname", ""), case.get("name", ""))
        status, message = "passed", ""
        for child, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            found = case.find(child)
            if found is not None:
                status = outcome
                message = found.get("message") or (found.text or "")
                break
        if test_id in tests and tests[test_id] != "passed":
            continue  # a test's error in teardown comes as a second case: keep the worst
        tests[test_id] = status
        if status in ("failed", "error") and message.strip():
            messages[test_id] = message.strip().splitlines()[0][:_MESSAGE_CHARS]
    return tests, messages


def _test_id(classname: str, name: str) -> str:
    """``tests.test_app.TestX`` + ``test_y`` -> ``tests.test_app.TestX::test_y``
    (pytest's junit names modules by dots; the id only has to match across the
    two runs)."""
    return f"{classname}::{name}" if classname else name
