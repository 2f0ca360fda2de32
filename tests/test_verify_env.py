"""What the harness injects: the token and host under every name the app reads."""

from __future__ import annotations

from pathlib import Path

from harness.run import StaticFacts
from harness.target.manifest import Manifest
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


def test_manifest_env_names() -> None:
    manifest = Manifest(Path("posthog-verify.toml"), env_token=("K",), env_host=("U",))
    env = injected_env(StaticFacts(), "T", "H", manifest)
    assert (env["K"], env["U"]) == ("T", "H")
