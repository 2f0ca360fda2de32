"""The corpus is complete and honest: every app has expectations for every
check, the README agrees with them, and every broken app is one marked change."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path

import pytest

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"
DOCS = TARGET_APPS.parent / "docs" / "checks.md"
EXPECTATIONS = tomllib.loads((TARGET_APPS / "expectations.toml").read_text())["apps"]
STATUSES = {"pass", "fail", "warn", "skip", "error"}


def _check_ids() -> list[str]:
    catalogue = DOCS.read_text().split("## The catalogue", 1)[1]
    return re.findall(r"^\| `([a-z_]+)` \|", catalogue, flags=re.M)


def _app_dirs() -> set[str]:
    return {p.name for p in TARGET_APPS.iterdir() if p.is_dir() and not p.name.startswith(".")}


def test_every_app_folder_has_expectations() -> None:
    assert {n for n in _app_dirs() if n != "__pycache__"} == set(EXPECTATIONS)


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
    for check in _check_ids():
        broken = [n for n, a in EXPECTATIONS.items() if a["expect"][check] in {"fail", "warn"}]
        assert [n for n in broken if n != "baseline"], check


def test_readme_is_rendered_from_expectations() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_readme", TARGET_APPS / "render_readme.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (TARGET_APPS / "README.md").read_text() == module.render(module.load())


def _sources(root: Path) -> dict[str, list[str]]:
    return {
        str(p.relative_to(root)): p.read_text().splitlines()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in {".py", ".html", ".txt"} and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("name", sorted(n for n in EXPECTATIONS if n.startswith("broken_")))
def test_broken_app_is_one_marked_change(name: str) -> None:
    mine, base = (
        _sources(TARGET_APPS / name),
        _sources(TARGET_APPS / EXPECTATIONS[name]["derived_from"]),
    )
    base = {k: v for k, v in base.items() if not k.startswith("tests/")}
    assert set(mine) == set(base)
    changed = [
        line
        for rel in mine
        for line in difflib.unified_diff(base[rel], mine[rel], lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert any("# BROKEN:" in line for line in changed)
    assert len(changed) <= 16, changed


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_app_declares_its_requirements(name: str) -> None:
    requirements = (TARGET_APPS / name / "requirements.txt").read_text()
    assert "flask" in requirements
    assert ("posthog" in requirements) == (name != "baseline")
