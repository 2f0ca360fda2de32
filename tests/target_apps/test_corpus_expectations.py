"""The corpus is complete and honest: every app has expectations for every
check, the README agrees with them, and every broken app is one marked change,
stored as its patch."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from target_apps.materialize import app_dir
from target_apps.materialize import base_of
from target_apps.materialize import is_variant
from target_apps.materialize import names
from target_apps.materialize import patch_path

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"
DOCS = TARGET_APPS.parent / "docs" / "checks.md"
EXPECTATIONS = tomllib.loads((TARGET_APPS / "expectations.toml").read_text())["apps"]
STATUSES = {"pass", "fail", "warn", "skip", "error"}


def _check_ids() -> list[str]:
    catalogue = DOCS.read_text().split("## The catalogue", 1)[1]
    return re.findall(r"^\| `([a-z_]+)` \|", catalogue, flags=re.M)


def test_every_app_has_expectations() -> None:
    assert names() == sorted(EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTATIONS if is_variant(n)))
def test_variant_patch_names_the_base_expectations_name(name: str) -> None:
    assert base_of(name) == EXPECTATIONS[name]["derived_from"]


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_expectations_cover_every_check(name: str) -> None:
    app = EXPECTATIONS[name]
    assert list(app["expect"]) == _check_ids()
    assert set(app["expect"].values()) <= STATUSES
    assert app["description"]
    assert app["style"]
    for check in app.get("evidence", {}):
        assert app["expect"][check] in {"fail", "warn", "error"}
    if "proven_by" in app:  # its ground truth is proven there, by name
        proof = TARGET_APPS.parent / app["proven_by"]
        assert name in proof.read_text(), f"{app['proven_by']} does not prove {name}"


def test_every_check_has_an_app_that_breaks_it() -> None:
    """Without a baseline, or with one (``baseline_expect``: behaviour_preserved
    can only fail against the app before the integration)."""
    for check in _check_ids():
        broken = [
            n
            for n, a in EXPECTATIONS.items()
            if {"fail", "warn"} & {a["expect"][check], a.get("baseline_expect", {}).get(check, "")}
        ]
        assert [n for n in broken if n != "baseline"], check


def test_readme_is_rendered_from_expectations() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_readme", TARGET_APPS / "render_readme.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (TARGET_APPS / "README.md").read_text() == module.render(module.load())


def _changed_lines(name: str) -> list[str]:
    """The lines a variant's patch adds or removes (not its file headers)."""
    text = patch_path(name).read_text().split("\n--- ", 1)[1]
    return [
        line
        for line in text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    ]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTATIONS if n.startswith("broken_")))
def test_broken_app_is_one_marked_change(name: str) -> None:
    assert is_variant(name), f"{name} must be a patch of {EXPECTATIONS[name]['derived_from']}"
    changed = _changed_lines(name)
    assert any("# BROKEN:" in line for line in changed)
    assert len(changed) <= 16, changed


def test_only_reference_baseline_and_standalone_apps_are_whole() -> None:
    """Every app derived from another is its patch, so the corpus repeats nothing."""
    whole = [n for n in names() if not is_variant(n)]
    assert all("derived_from" not in EXPECTATIONS[n] or n == "reference" for n in whole), whole


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_app_declares_its_requirements(name: str) -> None:
    requirements = (app_dir(name) / "requirements.txt").read_text()
    assert "flask" in requirements
    assert ("posthog" in requirements) == (name != "baseline")
