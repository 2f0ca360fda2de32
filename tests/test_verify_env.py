"""What the harness injects: the token and host under every name the app reads."""

from __future__ import annotations

import types
import typing as t
from pathlib import Path

import pytest

from harness.environ import snapshot
from harness.run import StaticFacts
from harness.subject.manifest import Manifest
from harness.verify import Options
from harness.verify import Subject
from harness.verify import app_settings
from harness.verify import base_environ
from harness.verify import find
from harness.verify import injected_env


def test_defaults_and_names_from_the_source() -> None:
    env = injected_env(StaticFacts(env_names=("MY_POSTHOG_KEY", "POSTHOG_DISABLED")), "T", "H")
    assert env["POSTHOG_PROJECT_TOKEN"] == env["MY_POSTHOG_KEY"] == "T"
    assert env["POSTHOG_HOST"] == "H"
    assert "POSTHOG_DISABLED" not in env  # guessing a value could switch it off


def test_prefixed_config_keys() -> None:
    static = StaticFacts(config_keys=("POSTHOG_API_KEY", "POSTHOG_HOST"), env_prefixes=("FLASK",))
    env = injected_env(static, "T", "H")
    assert (env["FLASK_POSTHOG_API_KEY"], env["FLASK_POSTHOG_HOST"]) == ("T", "H")


def test_a_name_the_source_passes_to_the_sdk_gets_its_role_whatever_it_says() -> None:
    static = StaticFacts(
        env_names=("PH_INSTANCE_ADDRESS", "PH_PROJECT", "POSTHOG_PROXY_URL"),
        config_keys=("ANALYTICS_ENDPOINT",),
        env_prefixes=("FLASK",),
        host_sources=("ANALYTICS_ENDPOINT", "PH_INSTANCE_ADDRESS"),
        key_sources=("PH_PROJECT",),
    )
    env = injected_env(static, "T", "H")
    assert (env["PH_INSTANCE_ADDRESS"], env["FLASK_ANALYTICS_ENDPOINT"]) == ("H", "H")
    assert env["PH_PROJECT"] == "T"
    assert env["POSTHOG_PROXY_URL"] == "H"  # by its name, as before: no role seen


def test_manifest_env_names() -> None:
    manifest = Manifest(Path("posthog-verify.toml"), env_token=("K",), env_host=("U",))
    env = injected_env(StaticFacts(), "T", "H", manifest)
    assert (env["K"], env["U"]) == ("T", "H")


def test_the_parent_environment_reaches_the_app_without_what_steers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTHOG_API_KEY", "phc_from_the_shell_synthetic")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("FLASK_APP", "elsewhere:app")
    monkeypatch.setenv("FLASK_SECRET_KEY", "app-config")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    env = base_environ(snapshot())
    assert "POSTHOG_API_KEY" not in env
    assert "FLASK_DEBUG" not in env
    assert "FLASK_APP" not in env
    assert env["FLASK_SECRET_KEY"] == "app-config"
    assert env["DATABASE_URL"] == "sqlite://"


def test_app_settings_expand_workspace_and_the_manifest_wins(tmp_path: Path) -> None:
    manifest = Manifest(
        source=tmp_path / "posthog-verify.toml",
        env={"DATABASE_URL": "sqlite:///{workspace}/app.db", "SHARED": "manifest"},
    )
    subject = t.cast(Subject, types.SimpleNamespace(manifest=manifest))
    options = Options(app_env={"SHARED": "env file", "SECRET_KEY": "{workspace}"})
    env = app_settings(subject, options, tmp_path)
    assert env == {
        "DATABASE_URL": f"sqlite:///{tmp_path.resolve()}/app.db",
        "SHARED": "manifest",
        "SECRET_KEY": str(tmp_path.resolve()),
    }


def test_flask_app_keeps_a_factorys_literal_arguments(tmp_path: Path) -> None:
    from harness.subject.setup import flask_app

    (tmp_path / "app.py").write_text("def create_app(config):\n    pass\n")
    (tmp_path / ".flaskenv").write_text("FLASK_APP=app:create_app('production')\n")
    subject = find(tmp_path, "x")
    assert isinstance(subject, Subject)
    assert flask_app(subject.location) == "app:create_app('production')"
