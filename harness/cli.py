"""``posthog-verify``: the command line for graders who do not think in pytest.

It runs pytest underneath, with the same exit codes (0 every check passed or
warned, 1 a check failed or errored, 4 a usage error...)::

    posthog-verify runs/* -n auto --report grades.json --html grades.html --md grades.md
    posthog-verify merge grades-*.json -o grades.json --md grades.md
    posthog-verify APP -- -x -k identify      # anything after -- goes to pytest

``merge``, ``markdown`` and ``html`` are :mod:`harness.report`'s commands
(``python -m harness.report`` keeps working).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import typing as t
from pathlib import Path

PROG = "posthog-verify"
REPORT_COMMANDS = ("merge", "markdown", "html")
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR, without importing pytest for --help


def main(argv: t.Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in REPORT_COMMANDS:
        from harness.report.__main__ import main as report_main

        return report_main(args)
    ours, rest = _split(args)
    parsed = _parser().parse_args(ours)
    # A child interpreter, not pytest.main(): this module imported the harness
    # already, and pytest must import its plugin itself (assertion rewriting).
    command = [sys.executable, "-m", "pytest", *pytest_args(parsed, rest)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 2  # pytest.ExitCode.INTERRUPTED; the child got the same SIGINT


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    """Our arguments, and what follows ``--`` (pytest's own)."""
    if "--" in args:
        at = args.index("--")
        return args[:at], args[at + 1 :]
    return args, []


def pytest_args(parsed: argparse.Namespace, rest: t.Sequence[str] = ()) -> list[str]:
    """The pytest command line that does what ``parsed`` asks.

    ``--posthog-app=PATH`` is written with ``=`` so pytest's rootdir stays
    where the command runs (see the README's note), and the project's own
    cache is not written into a grader's folder.
    """
    args = ["--posthog-verify", *(f"--posthog-app={app}" for app in parsed.apps)]
    args += ["-p", "no:cacheprovider", f"--rootdir={Path.cwd()}"]
    for flag, value in (
        ("--posthog-report", parsed.report),
        ("--posthog-report-html", parsed.html),
        ("--posthog-report-md", parsed.md),
        ("--posthog-shard", parsed.shard),
        ("--posthog-timeout", parsed.timeout),
        ("--posthog-server", parsed.server),
    ):
        if value is not None:
            args.append(f"{flag}={value}")
    if parsed.numprocesses is not None:
        args += ["-n", parsed.numprocesses]
    if parsed.quiet:
        args.append("-q")
    return [*args, *rest]


class _Parser(argparse.ArgumentParser):
    """Bad arguments exit 4, as a pytest usage error does."""

    def error(self, message: str) -> t.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Verify Flask apps' PostHog integration (pytest --posthog-verify underneath). "
        f"Also: {PROG} merge REPORT... -o OUT [--md MD] [--html HTML], {PROG} markdown REPORT, "
        f"{PROG} html REPORT -o HTML.",
        epilog="Arguments after -- go to pytest as they are. Exit status: pytest's.",
    )
    parser.add_argument("apps", nargs="+", metavar="APP", help="app folders; globs allowed")
    parser.add_argument(
        "-n", dest="numprocesses", metavar="N", help="xdist workers (a number or auto)"
    )
    parser.add_argument("--report", metavar="PATH", help="write the JSON report")
    parser.add_argument("--html", metavar="PATH", help="write the HTML grade book")
    parser.add_argument("--md", metavar="PATH", help="write the Markdown summary")
    parser.add_argument("--shard", metavar="K/N", help="judge the K-th of N shares of the apps")
    parser.add_argument("--timeout", metavar="SECONDS", help="deadline per phase")
    parser.add_argument("--server", metavar="NAME", help="werkzeug (default) or gunicorn")
    parser.add_argument("-q", "--quiet", action="store_true", help="less pytest output")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
