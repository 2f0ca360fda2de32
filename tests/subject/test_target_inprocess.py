"""isolated_import: apps that all call their modules ``app`` and ``config``
never leak into each other, and are built as production builds them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.serve import BootFailed
from harness.subject.inprocess import isolated_import
from harness.subject.instrument import Instrumentation
from harness.subject.instrument import ListSink

APP = """\
import os

from flask import Flask

import config

os.environ["APP_FLAVOUR"] = config.FLAVOUR
IMPORTED_IN = os.getcwd()


def create_app():
    app = Flask(__name__)

    @app.get("/")
    def index():
        return config.FLAVOUR

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.errorhandler(500)
    def on_error(error):
        return "own error page " + config.FLAVOUR, 500

    return app
"""

POSTHOG_APP = """\
from flask import Flask
from posthog import Posthog

client = Posthog("phc_inprocess", host="http://127.0.0.1:9", send=False)
app = Flask(__name__)


@app.get("/")
def index():
    return client.capture("viewed", distinct_id="d") or ""
"""


def write_app(root: Path, flavour: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "config.py").write_text(f"FLAVOUR = {flavour!r}\n")
    return root


def test_two_apps_with_the_same_module_names_do_not_leak(tmp_path: Path) -> None:
    first = write_app(tmp_path / "first", "vanilla")
    second = write_app(tmp_path / "second", "chocolate")
    cwd, path = Path.cwd(), list(sys.path)
    with isolated_import(first, "app:create_app") as app:
        assert app.test_client().get("/").text == "vanilla"
        assert os.environ["APP_FLAVOUR"] == "vanilla"
        imported_in = sys.modules["app"].IMPORTED_IN
        assert imported_in == str(first.resolve())
    assert "app" not in sys.modules
    assert "config" not in sys.modules
    assert "APP_FLAVOUR" not in os.environ
    assert (Path.cwd(), sys.path) == (cwd, path)
    with isolated_import(second, "app:create_app") as app:
        assert app.test_client().get("/").text == "chocolate"
        assert os.environ["APP_FLAVOUR"] == "chocolate"


def test_the_app_is_not_in_testing_mode_so_its_error_handlers_run(tmp_path: Path) -> None:
    root = write_app(tmp_path / "prod", "prod")
    with isolated_import(root, "app:create_app") as app:
        assert app.testing is False
        response = app.test_client().get("/boom")
    assert (response.status_code, response.text) == (500, "own error page prod")


@pytest.mark.parametrize(
    ("source", "target", "phase", "app_raised"),
    [
        pytest.param("raise ImportError('own')\n", "app:app", "import", True, id="import-raises"),
        pytest.param("app = None\n", "app:app", "boot", False, id="not-an-app"),
        pytest.param("x = 1\n", "nope:app", "import", False, id="no-module"),
    ],
)
def test_boot_failures_are_told_apart(
    tmp_path: Path, source: str, target: str, phase: str, app_raised: bool
) -> None:
    (tmp_path / "app.py").write_text(source)
    with pytest.raises(BootFailed) as caught, isolated_import(tmp_path, target):
        pass
    assert (caught.value.fields["phase"], caught.value.fields["app_raised"]) == (phase, app_raised)
    assert "app" not in sys.modules


def test_instrumentation_records_in_process(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(POSTHOG_APP)
    sink = ListSink()
    instrumentation = Instrumentation(tmp_path, sink)
    instrumentation.install()
    try:
        with isolated_import(tmp_path, "app:app", instrumentation) as app:
            uuid = app.test_client().get("/", headers={"X-Posthog-Verify-Step": "2"}).text
    finally:
        instrumentation.uninstall()
    bracket = [(r["type"], r["step"]) for r in sink.records if r["type"].startswith("request_")]
    assert bracket == [("request_start", 2), ("request_end", 2)]
    kinds = [
        (r["type"], r.get("phase"), r.get("step"))
        for r in sink.records
        if not r["type"].startswith("request_")
    ]
    assert kinds == [
        ("client", "boot", None),
        ("imported", None, None),
        ("enqueue", None, 2),
        ("call", "request", 2),
    ]
    assert [r for r in sink.records if r["type"] == "call"][-1]["uuid"] == uuid
    assert sink.records[0]["location"]["file"] == "app.py"
