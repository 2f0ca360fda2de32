"""Describe, inside the app's interpreter, an exception a request raised.

The child knows what the parent cannot see: the exception object, its frames
and their locals. So the description is made here, where it is exact, and
written to the observations log as one ``request_error`` record::

    fields = describe_exception(exc, app_root)
    fields["cause"]           # "sqlite3.OperationalError: no such table: user"
    fields["location"]        # {"file": "app/auth.py", "line": 42, "text": "..."}
    fields["in_integration"]  # False: no PostHog code and no PostHog object on the way

``in_integration`` answers "is this the integration's own failure?": the
traceback runs through the posthog package, or the line of the app's own code
that raised names PostHog or touches a PostHog object (a client, the module,
a context from ``posthog.new_context()``). The teardown hook that calls
``ctx.__exit__(exc)`` on a PostHog context raises at the call site, never
inside the SDK, which is why the line's objects are looked at too.

An exception that is the app calling an API its installed SDK predates
(:func:`harness.subject.runtime.missing_sdk_api`) is not the integration's:
its cause names the release the app needs.

Only the standard library (and the app side's own modules) is imported: this
runs in every child.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
import traceback
import types
import typing as t
from pathlib import Path

from harness.subject.runtime import missing_sdk_api
from harness.subject.runtime import package_versions

TAIL_LINES = 12
# "Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set.",
# "DATABASE_URL is not set", "SECRET_KEY not configured": a message that says
# a setting is missing, and the UPPER_CASE names it quotes.
_MISSING_WORDING = re.compile(
    r"must be (?:set|provided|configured|defined)|is not (?:set|configured|defined)"
    r"|not configured|(?:missing|required) (?:setting|config|environment variable)",
    re.IGNORECASE,
)
_SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{3,}[A-Z0-9]*\b")
_NAME_CHAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_NAMES = 24


def exception_line(exc: BaseException) -> str:
    """``module.Type: message`` on one line (builtins without their module)."""
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    message = str(exc).strip().splitlines()
    return f"{name}: {message[0]}" if message else name


def describe_exception(exc: BaseException, app_root: str) -> dict[str, t.Any]:
    """The ``request_error`` record's fields for ``exc`` (see the module docs)."""
    root = os.path.realpath(app_root) + os.sep
    frames = list(_frames(exc.__traceback__))
    own = [(f, n) for f, n in frames if _relative(f.f_code.co_filename, root) is not None]
    location = None
    if own:
        frame, line = own[-1]
        location = {
            "file": _relative(frame.f_code.co_filename, root),
            "line": line,
            "text": linecache.getline(frame.f_code.co_filename, line).strip(),
        }
    lines = traceback.format_exception(exc)
    tail = "".join(lines).strip().splitlines()[-TAIL_LINES:]
    cause = exception_line(exc)
    # An API the installed SDK predates: the environment's to fix (runtime.py).
    too_old = missing_sdk_api(exc, package_versions())
    return {
        "cause": cause if too_old is None else f"{cause}: {too_old}",
        "location": location,
        "traceback_tail": "\n".join(tail),
        "in_integration": too_old is None
        and (_through_posthog(frames) or bool(own and _touches_posthog(*own[-1]))),
        "sdk_too_old": too_old is not None,
    }


def _frames(tb: types.TracebackType | None) -> t.Iterator[tuple[types.FrameType, int]]:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _relative(filename: str, root: str) -> str | None:
    if filename.startswith("<"):
        return None
    real = os.path.realpath(filename)
    return real[len(root) :] if real.startswith(root) else None


def _posthog_dir() -> str | None:
    module = sys.modules.get("posthog")
    file = getattr(module, "__file__", None)
    return str(Path(file).resolve().parent) + os.sep if file else None


def _through_posthog(frames: t.Sequence[tuple[types.FrameType, int]]) -> bool:
    package = _posthog_dir()
    if package is None:
        return False
    return any(os.path.realpath(f.f_code.co_filename).startswith(package) for f, _ in frames)


def _touches_posthog(frame: types.FrameType, line: int) -> bool:
    """The raising line names PostHog, or one of its names is a PostHog object."""
    text = linecache.getline(frame.f_code.co_filename, line)
    if "posthog" in text.lower():
        return True
    for chain in _NAME_CHAIN.findall(text)[:_MAX_NAMES]:
        try:
            if any(_is_posthog(value) for value in _resolve(frame, chain)):
                return True
        except Exception:  # a proxy outside its context, a property that raises
            continue
    return False


def _resolve(frame: types.FrameType, chain: str) -> t.Iterator[t.Any]:
    """Each object along ``a.b.c`` as the frame sees it; stops at the first miss.
    ``getattr`` may run a property of the app's: a failure there ends the chain."""
    head, *rest = chain.split(".")
    scope = {**frame.f_builtins, **frame.f_globals, **frame.f_locals}
    if head not in scope:
        return
    value = scope[head]
    yield value
    for name in rest:
        try:
            value = getattr(value, name)
        except Exception:
            return
        yield value


def _is_posthog(value: t.Any) -> bool:
    """A PostHog module, client, function, or a context manager it made."""
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] == "posthog"
    modules = [type(value).__module__, getattr(value, "__module__", None)]
    # contextlib's _GeneratorContextManager: ``func`` until it is entered
    # (3.11 deletes it in __enter__), its generator's code always.
    func = getattr(value, "func", None)
    modules.append(getattr(func, "__module__", None))
    code = getattr(getattr(value, "gen", None), "gi_code", None)
    package = _posthog_dir()
    if code is not None and package and os.path.realpath(code.co_filename).startswith(package):
        return True
    owner = getattr(value, "__self__", None)  # a bound method of a client
    if owner is not None:
        modules.append(type(owner).__module__)
    return any(isinstance(m, str) and m.split(".")[0] == "posthog" for m in modules)


def missing_settings(exc: BaseException, environ: t.Mapping[str, str]) -> tuple[str, ...]:
    """The settings of its own the app says it cannot run without, when none
    of them is set: the environment's to provide, no verdict on the app.

    One rule for two shapes: a ``KeyError`` naming an UPPER_CASE variable
    (``os.environ["SECRET_KEY"]``), and an exception whose message says a
    setting must be set and names it (Flask-SQLAlchemy's ``RuntimeError:
    Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set.``).
    A PostHog variable is left out: the harness sets those, so one that is
    missing is the app's own doing. So is a name that is set.
    """
    if isinstance(exc, KeyError):
        if len(exc.args) != 1 or not isinstance(exc.args[0], str):
            return ()
        names = [exc.args[0]] if re.fullmatch(r"[A-Z][A-Z0-9_]*", exc.args[0]) else []
    elif isinstance(exc, Exception) and _MISSING_WORDING.search(str(exc)):
        names = list(dict.fromkeys(_SETTING_NAME.findall(str(exc))))
    else:
        return ()
    if not names or any("POSTHOG" in n or n in environ for n in names):
        return ()
    return tuple(names)
