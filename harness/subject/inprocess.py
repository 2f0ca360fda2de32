"""Booting an app inside this interpreter, without leaking it into the next one.

For a user's own test suite (and the harness's tests): many apps name their
modules ``app``, ``config``, ``models``; each import must see its own files
and leave nothing behind::

    with isolated_import(Path("target_apps/shop"), "app:create_app") as app:
        client = app.test_client()
        client.get("/")
    # sys.modules, sys.path, cwd and os.environ are as they were

The app is built as production builds it (``TESTING`` is not set), so its own
error handlers run. Pass an :class:`~harness.subject.instrument.Instrumentation`
to record what it does with the SDK.
"""

from __future__ import annotations

import contextlib
import os
import sys
import typing as t
from pathlib import Path

from harness.serve import build_app

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask

    from harness.subject.instrument import Instrumentation


def _imported_from(root: str, before: set[str]) -> list[str]:
    """Modules imported since ``before`` whose file lies under ``root``, or that
    have no file at all (namespace packages made from the folder)."""
    names = []
    for name, module in list(sys.modules.items()):
        if name in before:
            continue
        file = getattr(module, "__file__", None)
        paths = [file] if file else list(getattr(module, "__path__", []) or [])
        if not paths or any(os.path.realpath(p).startswith(root + os.sep) for p in paths):
            names.append(name)
    return names


@contextlib.contextmanager
def isolated_import(
    app_root: Path, target: str, instrumentation: Instrumentation | None = None
) -> Iterator[Flask]:
    """Import ``module:attr`` from ``app_root`` (a factory is called) and yield
    the Flask app; afterwards purge the app's modules and restore cwd, env and
    ``sys.path``.

    :raises harness.serve.BootFailed: the module or factory raised, or the
        target is not a Flask app (its ``fields`` say which).
    """
    root = os.path.realpath(app_root)
    saved_cwd = Path.cwd()
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    before = set(sys.modules)
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        if instrumentation is None:
            yield build_app(target, _NullInstrumentation())  # type: ignore[arg-type]
        else:
            app = build_app(target, instrumentation)
            # Patching a method on the instance; mypy also compares it with the unbound
            # method (``self`` included), hence ``assignment``.
            app.wsgi_app = instrumentation.wrap_wsgi(app.wsgi_app)  # type: ignore[method-assign, assignment]
            instrumentation.watch_errors(app)
            yield app
    finally:
        for name in _imported_from(root, before):
            sys.modules.pop(name, None)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path


class _NullInstrumentation:
    """Stands in when nothing is recorded."""

    def emit(self, kind: str, **fields: t.Any) -> None:
        pass
