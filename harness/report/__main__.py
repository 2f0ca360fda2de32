"""Command line for reports: merge shard reports, render Markdown.

::

    python -m harness.report merge shard-*.json -o all.json --md summary.md --html grades.html
    python -m harness.report markdown all.json -o summary.md
    python -m harness.report html all.json -o grades.html

Exit status: 0 done, 2 bad input (unreadable, not a report, not mergeable),
1 an output could not be written.
"""

from __future__ import annotations

import argparse
import sys
import typing as t
from pathlib import Path

from harness.report.html import html_report
from harness.report.json_report import ReportError
from harness.report.json_report import load_report
from harness.report.json_report import write_report
from harness.report.markdown import markdown_summary
from harness.report.merge import merge_reports
from harness.report.terminal import plural

PROG = "python -m harness.report"


def main(argv: t.Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        report = _merge(args) if args.command == "merge" else load_report(args.report)
    except ReportError as exc:
        return _fail(2, str(exc))
    try:
        if args.command == "merge":
            write_report(report, args.output)
            print(
                f"merged {plural(len(args.reports), 'report')} "
                f"({plural(len(report['apps']), 'app')}) into {args.output}"
            )
        if args.command == "html":
            _write_text(args.output, html_report(report))
            return 0
        if args.command == "merge" and args.html is not None:
            _write_text(args.html, html_report(report))
        markdown_path = args.md if args.command == "merge" else args.output
        if markdown_path is not None:
            _write_text(markdown_path, markdown_summary(report))
        elif args.command == "markdown":
            sys.stdout.write(markdown_summary(report))
    except OSError as exc:
        return _fail(1, f"cannot write {exc.filename}: {exc.strerror or exc}")
    return 0


def _merge(args: argparse.Namespace) -> dict[str, t.Any]:
    reports = [load_report(path) for path in args.reports]
    names = [path.name for path in args.reports]
    if len(set(names)) != len(names):  # same base name in two folders: keep them apart
        names = [str(path) for path in args.reports]
    return merge_reports(reports, sources=names, allow_partial=args.allow_partial)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge", help="merge shard reports into one report")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="report files")
    merge.add_argument("-o", "--output", required=True, type=Path, help="merged report to write")
    merge.add_argument("--md", type=Path, help="also write the Markdown summary here")
    merge.add_argument("--html", type=Path, help="also write the HTML grade book here")
    merge.add_argument(
        "--allow-partial",
        action="store_true",
        help="merge shard reports even when some shards are missing",
    )
    markdown = commands.add_parser("markdown", help="render a report as Markdown")
    markdown.add_argument("report", type=Path, help="report file")
    markdown.add_argument("-o", "--output", type=Path, help="Markdown file (default: stdout)")
    html = commands.add_parser("html", help="render a report as the HTML grade book")
    html.add_argument("report", type=Path, help="report file")
    html.add_argument("-o", "--output", required=True, type=Path, help="HTML file to write")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
