"""Which interpreter runs an app's process tree, and how it finds the app side.

The pytest side stays in pytest's interpreter; the app's process tree (the
served child and whatever it starts) may run under the app's own Python and
site-packages (``--posthog-python``, the manifest's ``python = "..."``, or an
environment ``--posthog-install`` made). That interpreter has neither the
plugin nor pytest installed, so the child finds the app side through
``PYTHONPATH``: a folder holding only the ``harness`` package (a symlink), never
the plugin's own site-packages, whose Flask and posthog would shadow the
app's::

    python = resolve_python(".venv/bin/python", base=app_root)  # InterpreterError
    env["PYTHONPATH"] = str(app_side_root())
    problem = seam_problem(observations)   # the child speaks another log schema

The app side is :mod:`harness.serve`, :mod:`harness.subject.instrument`,
:mod:`harness.subject.outbound`, :mod:`harness.subject.runtime` and
:mod:`harness.subject.zygote`: standard library plus flask/werkzeug/posthog only
(``tests/envs/test_envs_app_side_imports.py`` proves it).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import secrets
import sys
import tempfile
import threading
import typing as t
from pathlib import Path

import harness
from harness.subject.runtime import SCHEMA_VERSION
from harness.subject.zygote import Zygote
from harness.subject.zygote import ZygoteUnavailable
from harness.subject.zygote import shared_zygote

if t.TYPE_CHECKING:
    from harness.subject.observations import Observations

#: The modules the app's interpreter imports; nothing else of ``harness``.
APP_SIDE_MODULES = (
    "harness",
    "harness.environ",
    "harness.serve",
    "harness.subject",
    "harness.subject.failures",
    "harness.subject.instrument",
    "harness.subject.outbound",
    "harness.subject.runtime",
    "harness.subject.sandbox",
    "harness.subject.setup_guard",
    "harness.subject.zygote",
)


logger = logging.getLogger(__name__)
#: Zygotes kept for interpreters other than pytest's (about 40 MB each); the
#: apps of any further interpreter are spawned.
MAX_ZYGOTES = 4
_zygotes: dict[str, Zygote | None] = {}  # None: it could not start, spawn instead
_zygotes_lock = threading.Lock()


class InterpreterError(Exception):
    """A ``--posthog-python`` (or manifest ``python``) that cannot run the app."""


def resolve_python(spec: str, base: Path, source: str = "--posthog-python") -> str:
    """``spec`` as an absolute path (relative to ``base``); symlinks are kept,
    since a virtualenv's ``bin/python`` is one and resolving it would leave
    the environment.

    :param source: where ``spec`` came from, named in the error; empty: the
        caller names it.
    :raises InterpreterError: it does not exist or cannot be executed.
    """
    where = f"{source}: " if source else ""
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = base / path
    path = path.absolute()
    if not path.is_file():
        raise InterpreterError(
            f"{where}{spec!r} is not a file (looked for {path}): give the path of "
            "the app's Python, e.g. .venv/bin/python"
        )
    if not os.access(path, os.X_OK):
        raise InterpreterError(f"{where}{path} is not executable: chmod +x it")
    return str(path)


def is_default(python: str | None) -> bool:
    """True when ``python`` is pytest's own interpreter (or unset)."""
    if python is None:
        return True
    return Path(python).absolute() == Path(sys.executable).absolute()


def app_side_root() -> Path:
    """A folder holding only ``harness`` (a symlink to this package), to put
    on the child's ``PYTHONPATH``: created once per package location, safe to
    race (a symlink is renamed into place)."""
    package = Path(harness.__file__).resolve().parent
    digest = hashlib.sha256(str(package).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"pv-appside-{os.getuid()}-{digest}"
    link = root / "harness"
    if link.is_symlink() and link.resolve() == package:
        return root
    root.mkdir(mode=0o700, exist_ok=True)
    # A name of its own per call: threads of one process (apps in flight, the
    # no-env boot) race here on a fresh machine, and a shared staging name
    # made one of them fail with FileExistsError.
    staging = root / f".harness-{os.getpid()}-{secrets.token_hex(4)}"
    staging.symlink_to(package, target_is_directory=True)
    staging.replace(link)
    return root


def seam_problem(observed: Observations) -> str | None:
    """Why the child's records cannot be read, or None. No ``runtime`` record
    at all means the child died before writing one: the boot says why."""
    if observed.schema is None or observed.schema == SCHEMA_VERSION:
        return None
    return (
        f"the app side wrote observation schema {observed.schema!r}, this harness reads "
        f"{SCHEMA_VERSION} ({observed.executable or 'unknown interpreter'}): its PYTHONPATH "
        "holds another posthog-verify; remove it"
    )


def zygote_for(python: str) -> Zygote | None:
    """The zygote that forks apps for ``python``: pytest's shared one, or one
    started (once) under that interpreter, importing the app side from
    :func:`app_side_root`; None (spawn instead) when it cannot start (logged),
    or when :data:`MAX_ZYGOTES` others are alive."""
    if is_default(python):
        return shared_zygote()
    with _zygotes_lock:
        if python in _zygotes:
            zygote = _zygotes[python]
            if zygote is None or zygote.alive:
                return zygote
        if sum(1 for z in _zygotes.values() if z is not None and z.alive) >= MAX_ZYGOTES:
            return None  # 200 requirement sets must not keep 200 zygotes alive: spawn
        try:
            zygote = Zygote(python, pythonpath=str(app_side_root()))
        except (OSError, ZygoteUnavailable) as exc:
            logger.warning("posthog-verify: launching %s apps with spawn: %s", python, exc)
            zygote = None
        else:
            atexit.register(zygote.close)
        _zygotes[python] = zygote
        return zygote
