"""What the child says about a request's exception (harness/subject/failures.py):
the exception line, the app's own innermost frame, and whether the failure is
the integration's; and the one rule for settings the environment lacks."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
import typing as t
from pathlib import Path

import pytest

from harness.subject.failures import describe_exception
from harness.subject.failures import exception_line
from harness.subject.failures import missing_settings

APP = """\
import sqlite3

import posthog
from posthog import Posthog

client = Posthog("phc_posthogverify_test_failures", host="http://127.0.0.1:9", sync_mode=True,
                 disabled=True)


def signup():
    client.capture("user_signed_up", distinct_id="u1")
    sqlite3.connect(":memory:").execute("select * from user")


def teardown(error):
    context = posthog.new_context(client=client)
    context.__enter__()
    context.__exit__(error)


def sdk_raises():
    Posthog("phc_posthogverify_test_failures", host=8000)


def plain_bug():
    items = {}
    return items["missing"]
"""


@pytest.fixture
def app(tmp_path: Path) -> t.Iterator[types.ModuleType]:
    (tmp_path / "shop.py").write_text(APP)
    spec = importlib.util.spec_from_file_location("pv_failures_shop", tmp_path / "shop.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("pv_failures_shop", None)


def raised(call: t.Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("it did not raise")


def test_an_error_outside_the_integration_names_the_apps_line(
    app: types.ModuleType, tmp_path: Path
) -> None:
    fields = describe_exception(raised(app.signup), str(tmp_path))
    assert fields["cause"] == "sqlite3.OperationalError: no such table: user"
    assert fields["location"] == {
        "file": "shop.py",
        "line": 12,
        "text": 'sqlite3.connect(":memory:").execute("select * from user")',
    }
    # The view calls PostHog on another line: that does not make it the integration's.
    assert fields["in_integration"] is False
    assert fields["traceback_tail"].endswith("sqlite3.OperationalError: no such table: user")


def test_a_context_exit_with_the_wrong_arguments_is_the_integrations(
    app: types.ModuleType, tmp_path: Path
) -> None:
    fields = describe_exception(raised(lambda: app.teardown(None)), str(tmp_path))
    assert fields["cause"].startswith("TypeError: _GeneratorContextManager.__exit__() missing 2")
    assert (fields["location"]["file"], fields["location"]["line"]) == ("shop.py", 18)
    assert fields["in_integration"] is True


def test_an_exception_raised_inside_the_sdk_is_the_integrations(
    app: types.ModuleType, tmp_path: Path
) -> None:
    fields = describe_exception(raised(app.sdk_raises), str(tmp_path))
    assert fields["cause"] == "AttributeError: 'int' object has no attribute 'strip'"
    assert fields["location"]["line"] == 22  # the app's call, not the SDK's frame
    assert fields["in_integration"] is True


def test_a_plain_bug_is_not_the_integrations(app: types.ModuleType, tmp_path: Path) -> None:
    fields = describe_exception(raised(app.plain_bug), str(tmp_path))
    assert fields["cause"] == "KeyError: 'missing'"
    assert fields["in_integration"] is False


def test_exception_line_is_one_line_with_the_module() -> None:
    assert exception_line(ValueError("a\nb")) == "ValueError: a"
    assert exception_line(KeyError()) == "KeyError"


@pytest.mark.parametrize(
    ("exc", "environ", "expected"),
    [
        pytest.param(KeyError("SECRET_KEY"), {}, ("SECRET_KEY",), id="keyerror"),
        pytest.param(
            RuntimeError("Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set."),
            {},
            ("SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_BINDS"),
            id="flask-sqlalchemy",
        ),
        pytest.param(ValueError("DATABASE_URL is not set"), {}, ("DATABASE_URL",), id="not-set"),
    ],
)
def test_missing_settings_are_the_environments(
    exc: BaseException, environ: dict[str, str], expected: tuple[str, ...]
) -> None:
    assert missing_settings(exc, environ) == expected


@pytest.mark.parametrize(
    ("exc", "environ"),
    [
        pytest.param(KeyError("POSTHOG_PROJECT_TOKEN"), {}, id="posthog-variable"),
        pytest.param(KeyError("SECRET_KEY"), {"SECRET_KEY": "x"}, id="set-but-read-wrong"),
        pytest.param(KeyError("user_id"), {}, id="not-a-variable-name"),
        pytest.param(RuntimeError("DATABASE_URL is broken"), {}, id="no-missing-wording"),
        pytest.param(ValueError("DATABASE_URL is not set"), {"DATABASE_URL": "x"}, id="it-is-set"),
    ],
)
def test_other_errors_stay_the_apps(exc: BaseException, environ: dict[str, str]) -> None:
    assert missing_settings(exc, environ) == ()


def _recorded_app(tmp_path: Path) -> tuple[t.Any, t.Any]:
    from flask import Flask

    from harness.subject.instrument import Instrumentation
    from harness.subject.instrument import ListSink

    app = Flask("pv_failures_hooks")
    app.root_path = str(tmp_path)

    @app.get("/view")
    def view() -> str:
        raise LookupError("in the view")

    @app.get("/after")
    def after() -> str:
        return "ok"

    @app.after_request
    def broken_after(response: t.Any) -> t.Any:
        from flask import request

        if request.path == "/after":
            raise ValueError("in after_request")
        return response

    @app.teardown_request
    def broken_teardown(error: BaseException | None) -> None:
        from flask import request

        if request.path == "/teardown":
            raise RuntimeError("in teardown")

    @app.get("/teardown")
    def teardown() -> str:
        return "ok"

    @app.get("/exit")
    def leave() -> str:
        raise SystemExit(3)

    sink = ListSink()
    instrumentation = Instrumentation(tmp_path, sink)
    app.wsgi_app = instrumentation.wrap_wsgi(app.wsgi_app)  # type: ignore[method-assign, assignment]
    instrumentation.watch_errors(app)
    return app, sink


@pytest.mark.parametrize(
    ("path", "cause", "where"),
    [
        pytest.param("/view", "LookupError: in the view", "view", id="view"),
        pytest.param("/after", "ValueError: in after_request", "view", id="after_request"),
        pytest.param("/teardown", "RuntimeError: in teardown", "wsgi", id="teardown"),
        pytest.param("/exit", "SystemExit: 3", "wsgi", id="systemexit"),
    ],
)
def test_every_failing_request_is_recorded_once_with_its_step(
    tmp_path: Path, path: str, cause: str, where: str
) -> None:
    app, sink = _recorded_app(tmp_path)
    with contextlib.suppress(RuntimeError, SystemExit):  # what escapes Flask reaches the client
        app.test_client().get(path, headers={"X-Posthog-Verify-Step": "4"})
    errors = [r for r in sink.records if r["type"] == "request_error"]
    assert [(r["step"], r["cause"], r["where"]) for r in errors] == [(4, cause, where)]
    assert [r["type"] for r in sink.records if r["type"].startswith("request_")] == [
        "request_start",
        "request_error",
        "request_end",
    ]
