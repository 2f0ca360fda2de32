"""Which folders and files of an app count as its source.

Shared by discovery (where is the app?) and static analysis (what does its
source say?), so both skip the same things: virtualenvs, installed packages,
hidden folders, migrations, and the app's own tests (whose fixtures may hold
fake keys that are not the integration's fault)::

    for path in iter_source_files(Path("my_app")):
        ...
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import threading
import typing as t
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        "venv",
        "env",
        "virtualenv",
        "site-packages",
        "dist-packages",
        "node_modules",
        "__pycache__",
        "migrations",
        "alembic",
        "tests",
        "test",
        "testing",
        "build",
        "dist",
        "instance",
    }
)


def is_skipped_dir(path: Path) -> bool:
    """True for a folder that is not the app's own source."""
    name = path.name
    if name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    # Any name can hold a virtualenv; its marker file gives it away.
    return (path / "pyvenv.cfg").exists()


def is_test_file(path: Path) -> bool:
    """True for a test module or pytest configuration file."""
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def iter_source_files(root: Path) -> t.Iterator[Path]:
    """Yield every ``.py`` file under ``root`` that is the app's own source,
    in a stable (sorted) order."""
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue  # a link can lead out of the tree or into a cycle
        if entry.is_dir():
            if not is_skipped_dir(entry):
                yield from iter_source_files(entry)
        elif entry.suffix == ".py" and not is_test_file(entry):
            yield entry


# CPython 3.11 keeps ast.parse's recursion counter per interpreter: two threads
# parsing at once (an object freed mid-parse lets another thread run) can fail
# with "AST constructor recursion depth mismatch". The harness reads apps from
# several threads, so every parse of its process takes this lock; parsing
# holds the GIL throughout anyway, so nothing runs slower.
_PARSE_LOCK = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, one thread at a time (see ``_PARSE_LOCK``)."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename)


def parse_expression(source: str) -> ast.expr:
    """One expression (``mode="eval"``), one thread at a time."""
    with _PARSE_LOCK:
        return ast.parse(source, mode="eval").body


#: The trees parsed within :func:`shared_parses`, by (path, mtime, size).
_SHARED: contextvars.ContextVar[dict[tuple[str, int, int], ast.Module] | None] = (
    contextvars.ContextVar("posthog_verify_parses", default=None)
)


@contextlib.contextmanager
def shared_parses() -> t.Iterator[None]:
    """Within it (in this thread), :func:`parse_file` parses each file once:
    discovery, static analysis and set-up detection read the same files of an
    app one after the other. The trees go with the block, so memory holds one
    app's at most."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def parse_file(path: Path) -> ast.Module:
    """The syntax tree of one of the app's files; inside :func:`shared_parses`
    the same tree for every reader (never change one).

    :raises SyntaxError, ValueError, OSError: as ``ast.parse`` and reading do.
    """
    memo = _SHARED.get()
    if memo is None:
        return parse(path.read_bytes(), filename=str(path))
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in memo:
        memo[key] = parse(path.read_bytes(), filename=str(path))
    return memo[key]


# Files other than Python that apps commit configuration in.
TEXT_SUFFIXES = frozenset(
    {".env", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt", ".js", ".html", ".sh"}
)
TEXT_NAMES = frozenset({".env", ".flaskenv", "Procfile", "Dockerfile"})


def iter_text_files(root: Path) -> t.Iterator[Path]:
    """Yield the app's configuration-like files (``.env``, JSON, YAML, ...),
    where a key can be committed as easily as in Python, in a stable order."""
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir():
            if not is_skipped_dir(entry):
                yield from iter_text_files(entry)
        elif entry.suffix in TEXT_SUFFIXES or entry.name in TEXT_NAMES:
            yield entry
