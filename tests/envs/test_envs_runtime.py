"""The supported ranges: an app outside them is refused with the version and the range."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

from harness.subject.runtime import PACKAGES
from harness.subject.runtime import describe_range
from harness.subject.runtime import installed_version
from harness.subject.runtime import missing_sdk_api
from harness.subject.runtime import missing_sdk_module
from harness.subject.runtime import parse_version
from harness.subject.runtime import runtime_record
from harness.subject.runtime import unsupported

IN_RANGE = {"python": "3.11.7", "flask": "3.1.3", "werkzeug": "3.1.9", "posthog": "7.91.1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("7.66.0", (7, 66, 0), id="plain"),
        pytest.param("7.66.0rc1", (7, 66, 0), id="pre-release"),
        pytest.param("2.3", (2, 3), id="two-parts"),
        pytest.param("3.0.0.post1", (3, 0, 0), id="post"),
        pytest.param("6.0.0+local", (6, 0, 0), id="local"),
        pytest.param("dev", (), id="nothing-numeric"),
    ],
)
def test_parse_version(text: str, expected: tuple[int, ...]) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "versions",
    [
        pytest.param(IN_RANGE, id="newest"),
        pytest.param(IN_RANGE | {"flask": "2.2.0", "werkzeug": "2.2.2"}, id="flask-2.2"),
        pytest.param(IN_RANGE | {"posthog": "6.0.0"}, id="oldest-sdk"),
        pytest.param({k: v for k, v in IN_RANGE.items() if k != "posthog"}, id="no-posthog"),
    ],
)
def test_in_range_is_accepted(versions: dict[str, str]) -> None:
    assert unsupported(versions) is None


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        pytest.param(
            IN_RANGE | {"posthog": "5.4.0"},
            "posthog 5.4.0 is outside the range posthog-verify supports (posthog>=6.0, <8)",
            id="old-sdk",
        ),
        pytest.param(
            IN_RANGE | {"posthog": "8.0.0"},
            "posthog 8.0.0 is outside the range posthog-verify supports (posthog>=6.0, <8)",
            id="future-sdk",
        ),
        pytest.param(
            IN_RANGE | {"flask": "2.1.3"},
            "flask 2.1.3 is outside the range posthog-verify supports (flask>=2.2, <4)",
            id="old-flask",
        ),
        pytest.param(
            IN_RANGE | {"python": "3.10.14"},
            "python 3.10.14 is outside the range posthog-verify supports (python>=3.11)",
            id="old-python",
        ),
        pytest.param(
            {k: v for k, v in IN_RANGE.items() if k != "flask"},
            "flask is not installed in the app's interpreter",
            id="no-flask",
        ),
    ],
)
def test_out_of_range_names_version_and_range(versions: dict[str, str], expected: str) -> None:
    problem = unsupported(versions)
    assert problem is not None
    assert problem.startswith(expected), problem
    assert "install" in problem  # says what to do


def test_gunicorn_server_needs_gunicorn_in_the_apps_environment() -> None:
    problem = unsupported(IN_RANGE, server="gunicorn")
    assert problem is not None
    assert "gunicorn is not installed" in problem
    assert unsupported(IN_RANGE | {"gunicorn": "23.0.0"}, server="gunicorn") is None


def test_runtime_record_carries_the_schema_and_this_interpreter() -> None:
    record = runtime_record()
    assert record["type"] == "runtime"
    assert record["schema"] == 1
    assert set(record["versions"]) >= {"python", "flask", "werkzeug", "posthog"}


def test_describe_range() -> None:
    assert describe_range("posthog") == ">=6.0, <8"
    assert describe_range("python") == ">=3.11"


class _FakeClient:
    """Stands in for posthog's Client: only its module matters to the rule."""


_FakeClient.__module__ = "posthog.client"
_FakeClient.__name__ = "Posthog"


def _attribute_error(owner: object, name: str) -> AttributeError:
    try:
        getattr(owner, name)
    except AttributeError as exc:
        return exc
    raise AssertionError(f"{owner!r} has {name}")


@pytest.mark.parametrize(
    ("exc", "found", "expected"),
    [
        pytest.param(
            _attribute_error(_FakeClient(), "evaluate_flags"),
            "6.0.0",
            "the app calls Posthog.evaluate_flags(), which posthog 6.0.0 does not have "
            "(it ships from posthog 7.14.0 on",
            id="method",
        ),
        pytest.param(
            TypeError("new_context() got an unexpected keyword argument 'client'"),
            "6.8.0",
            "the app calls new_context(client=...), which posthog 6.8.0 does not have "
            "(it ships from posthog 6.9.0 on",
            id="keyword",
        ),
    ],
)
def test_an_api_the_sdk_predates_is_named_with_its_release(
    exc: BaseException, found: str, expected: str
) -> None:
    message = missing_sdk_api(exc, {"posthog": found})
    assert message is not None
    assert message.startswith(expected)
    assert message.endswith("install the app's requirements there, or pass --posthog-install")


@pytest.mark.parametrize(
    ("exc", "found"),
    [
        pytest.param(_attribute_error(_FakeClient(), "evaluate_flags"), "7.14.0", id="has-it"),
        pytest.param(
            TypeError("new_context() got an unexpected keyword argument 'client'"),
            "6.9.0",
            id="has-keyword",
        ),
        pytest.param(_attribute_error(object(), "evaluate_flags"), "6.0.0", id="not-posthogs"),
        pytest.param(_attribute_error(_FakeClient(), "evalute_flags"), "6.0.0", id="a-typo"),
        pytest.param(
            TypeError("new_context() got an unexpected keyword argument 'fresh_'"),
            "6.0.0",
            id="other-keyword",
        ),
        pytest.param(ValueError("API key is required"), "6.0.0", id="other-exception"),
    ],
)
def test_anything_else_is_the_apps_own(exc: BaseException, found: str) -> None:
    assert missing_sdk_api(exc, {"posthog": found}) is None


def test_the_import_rule_reads_the_same_table() -> None:
    message = missing_sdk_module("posthog.integrations.flask", {"posthog": "7.65.0"})
    assert message is not None
    assert "(it ships from posthog 7.66.0 on" in message
    assert missing_sdk_module("posthog.integrations.flask", {"posthog": "7.66.0"}) is None
    assert missing_sdk_module("posthog.integrations.nope", {"posthog": "6.0.0"}) is None


@pytest.mark.parametrize(
    ("folder", "filename"),
    [
        pytest.param("demo_pkg-1.2.3.dist-info", "METADATA", id="wheel"),
        pytest.param("demo_pkg.egg-info", "PKG-INFO", id="egg-info"),
    ],
)
def test_the_version_is_read_from_the_metadata_headers_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, filename: str
) -> None:
    """A long description may say ``Version:`` too; only the header counts,
    as importlib.metadata.version() reads it."""
    meta = tmp_path / folder
    meta.mkdir()
    (meta / filename).write_text(
        "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.2.3\n\n"
        "Changelog\nVersion: 9.9.9 is not released\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert installed_version("demo-pkg") == importlib.metadata.version("demo-pkg") == "1.2.3"
    assert installed_version("no-such-package-posthog-verify") is None


def test_the_runtime_record_names_each_installed_package() -> None:
    versions = runtime_record()["versions"]
    for name in PACKAGES:
        try:
            expected: str | None = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = None
        assert versions.get(name) == expected
