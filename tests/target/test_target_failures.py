"""What the child says about a request's exception (harness/target/failures.py):
the exception line, the app's own innermost frame, and whether the failure is
the integration's; and the one rule for settings the environment lacks."""

from __future__ import annotations

import importlib.util
import sys
import types
import typing as t
from pathlib import Path

import pytest

from harness.target.failures import describe_exception
from harness.target.failures import exception_line
from harness.target.failures import missing_settings

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
