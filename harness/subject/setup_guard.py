"""The entry a set-up command runs through: the network guard first, then the command.

A set-up command runs the app's own code (``flask db upgrade`` imports the app,
and an app may capture an event or call home at import). Like the app's server
(:mod:`harness.serve`), it runs with the harness's network guard installed, so
nothing it does leaves the machine: PostHog-shaped requests land in the mock,
any other connection off the loopback is refused::

    python -m harness.subject.setup_guard flask db upgrade
    python -m harness.subject.setup_guard python -m myapp.seed --users 2
    python -m harness.subject.setup_guard python manage.py init

``flask ...`` runs Flask's own CLI in this process, ``python -m mod``,
``python -c code`` and ``python script.py`` run with :mod:`runpy`; any other
program is not Python and is executed as it is (the guard cannot follow it:
the kernel's isolation, where in force, does).
"""

from __future__ import annotations

import os
import runpy
import sys

from harness.subject.instrument import MOCK_URL_ENV


def _install_guard() -> None:
    mock_url = os.environ.get(MOCK_URL_ENV)
    if not mock_url:
        return
    from harness.subject.outbound import NetworkGuard

    def ignore(kind: str, **fields: object) -> None:
        """What the guard redirected or refused during set-up is not recorded."""

    NetworkGuard(mock_url, ignore).install()


def _run_python(args: list[str]) -> None:
    """``python -m mod ...``, ``python -c code ...`` or ``python script ...``."""
    if args[:1] == ["-m"] and len(args) >= 2:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[:1] == ["-c"] and len(args) >= 2:
        sys.argv = ["-c", *args[2:]]
        sys.path.insert(0, "")
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    elif args and not args[0].startswith("-"):
        sys.argv = args
        sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))  # noqa: PTH100, PTH120
        runpy.run_path(args[0], run_name="__main__")
    else:  # interpreter options this entry does not take: run it plainly
        os.execv(sys.executable, [sys.executable, *args])


def main(argv: list[str]) -> None:
    """Run ``argv`` (``flask ...``, ``python ...`` or another program) guarded."""
    if not argv:
        raise SystemExit("usage: python -m harness.subject.setup_guard COMMAND [ARGS...]")
    head, rest = argv[0], argv[1:]
    if head not in ("flask", "python", "python3"):
        os.execvp(head, argv)
    _install_guard()
    if head == "flask":
        from flask.cli import cli

        cli.main(args=rest, prog_name="flask")
    else:
        _run_python(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
