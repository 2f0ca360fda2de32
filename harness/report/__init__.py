"""Reports: the JSON report, its merge, the terminal and Markdown summaries.

Pure formatting over plain data (see README.md)::

    from harness.report import AppReport, build_report, summary_lines

    apps = [AppReport.from_results("shop", "apps/shop", results, duration_s=2.5)]
    lines = summary_lines(apps, width=100)
    report = build_report(apps, versions=current_versions())
"""

from __future__ import annotations

from harness.report.grading import Grade as Grade
from harness.report.grading import ranked as ranked
from harness.report.grading import severity_of as severity_of
from harness.report.html import html_report as html_report
from harness.report.json_report import SCHEMA_VERSION as SCHEMA_VERSION
from harness.report.json_report import ReportError as ReportError
from harness.report.json_report import apps_of as apps_of
from harness.report.json_report import build_report as build_report
from harness.report.json_report import current_versions as current_versions
from harness.report.json_report import load_report as load_report
from harness.report.json_report import load_schema as load_schema
from harness.report.json_report import write_report as write_report
from harness.report.json_report import write_text as write_text
from harness.report.markdown import markdown_summary as markdown_summary
from harness.report.merge import MergeError as MergeError
from harness.report.merge import merge_reports as merge_reports
from harness.report.model import AppReport as AppReport
from harness.report.model import Overall as Overall
from harness.report.model import Score as Score
from harness.report.model import Totals as Totals
from harness.report.model import check_columns as check_columns
from harness.report.model import worst_status as worst_status
from harness.report.terminal import summary_lines as summary_lines
