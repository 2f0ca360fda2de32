"""Checks that the app starts: ``boots`` and ``boots_without_posthog_env``.

``boots`` judges the first ``GET /`` of the scenario; a boot that never got
that far is turned into a verdict by :mod:`harness.checks._rules`, which uses
:func:`traceback_tail` from here to quote the app's own traceback::

    result = boots(run)      # pass: "GET / answered 200"
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

from harness.checks._events import describe
from harness.checks._events import evidence
from harness.checks._events import result
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import Exchange
    from harness.run import Run

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_BODY_CHARS = 300


def traceback_tail(detail: str, roots: t.Sequence[str] = ()) -> tuple[str, str | None]:
    """The last line of a traceback and the ``file:line`` a person should open.

    That is the innermost frame in the app's own files (under one of
    ``roots``: its folder, or the copy that ran), shown relative to it; when
    no frame is the app's, the innermost frame outside the harness and
    installed packages; failing that, the innermost frame.
    """
    lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "(no traceback)"
    frames = [(m.group("file"), m.group("line")) for m in _FRAME.finditer(detail)]
    if not frames:
        return last, None
    prefixes = [root.rstrip("/") + "/" for root in roots if root]
    for file, line in reversed(frames):
        for prefix in prefixes:
            if file.startswith(prefix):
                return last, f"{file[len(prefix) :]}:{line}"
    outside = [(f, n) for f, n in frames if not _foreign(f)]
    file, line = (outside or frames)[-1]
    return last, f"{file}:{line}"


def _foreign(file: str) -> bool:
    """A file of the harness, the SDK or any installed package: not the app's."""
    return file.startswith(_HARNESS) or "/site-packages/" in file or "/lib/python3" in file


_HARNESS = str(Path(__file__).resolve().parents[1]) + "/"


def _first_get(run: Run) -> Exchange | None:
    for exchange in run.exchanges:
        if exchange.method == "GET" and exchange.path.split("?")[0] == "/":
            return exchange
    return run.exchanges[0] if run.exchanges else None


def boots(run: Run) -> Result:
    """The app imported, was built and answered its first ``GET /`` below 500."""
    first = _first_get(run)
    if first is None:
        return result("boots", Status.ERROR, "not judged: no request reached the app")
    if first.status is None:
        return result(
            "boots",
            Status.ERROR,
            f"not judged: {describe(first)} got no answer ({first.error or 'no response'})",
            [evidence(exchange=first, note=first.error)],
        )
    if first.status >= 500:
        body = first.body_excerpt[:_BODY_CHARS]
        return result(
            "boots",
            Status.FAIL,
            f"{first.method} {first.path} answered {first.status}: the app does not serve",
            [evidence(exchange=first, status=first.status, value=body)],
        )
    return result("boots", Status.PASS, f"{first.method} {first.path} answered {first.status}")


def boots_without_posthog_env(run: Run) -> Result:
    """With every PostHog variable unset the app still serves (advisory: warn)."""
    check = "boots_without_posthog_env"
    boot = run.no_env_boot
    if boot is None:
        if run.mode != "server":
            return result(check, Status.SKIP, "only judged when the app runs as a server")
        return result(check, Status.ERROR, "not judged: the boot without PostHog env did not run")
    unset = ", ".join(boot.unset) or "(none)"
    failure = boot.failure
    if failure is not None and not failure.app_raised:
        return result(
            check,
            Status.ERROR,
            f"not judged: the boot without PostHog env failed in {failure.phase.value}: "
            f"{failure.cause}",
            [evidence(unset=unset, note=failure.detail[-_BODY_CHARS:] or None)],
        )
    if failure is not None:
        last, location = traceback_tail(failure.detail, (run.workspace, run.app.root))
        return result(
            check,
            Status.WARN,
            f"without PostHog env the app does not boot: {last}",
            [evidence(unset=unset, value=last, location=location, note=failure.cause)],
        )
    if not boot.served or boot.status is None or boot.status >= 500:
        answer = "no answer" if boot.status is None else f"status {boot.status}"
        return result(
            check,
            Status.WARN,
            f"without PostHog env GET / got {answer}",
            [evidence(unset=unset, status=boot.status)],
        )
    return result(check, Status.PASS, f"without PostHog env GET / answered {boot.status}")
