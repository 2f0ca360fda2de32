"""``--posthog-baseline PATH``: the same app before the integration decides
who a failed step belongs to; a path that is not a folder is a usage error."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BEFORE = '''\
import sqlite3

from flask import Flask, request

app = Flask(__name__)
FORM = """<form method="post"><input type="email" name="email">
<input type="password" name="password"><button>Sign up</button></form>"""


@app.get("/")
def index():
    return "ok"


@app.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "POST":
        sqlite3.connect(":memory:").execute("insert into user values (1)")  # no table: set-up
    return FORM
'''
AFTER = BEFORE.replace(
    "app = Flask(__name__)\n",
    "import os\nfrom posthog import Posthog\n\napp = Flask(__name__)\n"
    "client = Posthog(os.environ.get('POSTHOG_PROJECT_TOKEN', ''), "
    "host=os.environ.get('POSTHOG_HOST'), enable_exception_autocapture=True)\n",
).replace(
    '    if request.method == "POST":\n',
    '    if request.method == "POST":\n        client.capture("signed_up", distinct_id="u1")\n',
)


def _app(root: Path, source: str) -> Path:
    root.mkdir()
    (root / "app.py").write_text(textwrap.dedent(source))
    return root


def test_a_failure_the_baseline_shares_is_not_the_integrations(pytester: pytest.Pytester) -> None:
    before = _app(pytester.path / "before", BEFORE)
    after = _app(pytester.path / "after", AFTER)
    report = pytester.path / "r.json"
    pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={after}",
        f"--posthog-baseline={before}",
        f"--posthog-report={report}",
        "-p",
        "no:cacheprovider",
    )
    checks = {c["id"]: c for c in json.loads(report.read_text())["apps"][0]["checks"]}
    signup = checks["identify_on_signup"]
    assert signup["status"] == "error"
    assert "sqlite3.OperationalError: no such table: user" in signup["summary"]
    assert "(the baseline fails the same way)" in signup["summary"]


def test_a_baseline_that_is_not_a_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-baseline=/nonexistent")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--posthog-baseline: '/nonexistent' is not a folder*"])
