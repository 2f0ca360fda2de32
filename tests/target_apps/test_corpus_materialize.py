"""Variants are patches of their base: built exactly, refused loudly when stale.

``target_apps/materialize.py`` turns ``<name>.patch`` plus its base into a
runnable app; these tests prove the round trip on the real corpus and the
strictness on a tiny corpus of their own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from target_apps import materialize as corpus

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = [name for name in corpus.names() if corpus.is_variant(name)]


@pytest.mark.parametrize("name", VARIANTS)
def test_patch_is_exactly_what_the_variant_differs_by(name: str, tmp_path: Path) -> None:
    """Building a variant and diffing it against its base gives its patch back."""
    built = corpus.materialize(name, tmp_path)
    assert (built / "requirements.txt").is_file()
    # The base's own suite is not inherited, unless the patch says "inherit: tests".
    assert (built / "tests").exists() == ("tests" not in corpus.not_inherited(name))
    assert corpus.diff(name, built) == corpus.patch_path(name).read_text()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "target_apps.materialize", *args]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_builds_one_variant_in_one_line(tmp_path: Path) -> None:
    proc = _cli("broken_pii_tag", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "broken_pii_tag")
    analytics = (tmp_path / "broken_pii_tag" / "app" / "analytics.py").read_text()
    assert 'tag("email", g.user["email"])' in analytics


def test_cli_names_the_apps_when_the_name_is_unknown(tmp_path: Path) -> None:
    proc = _cli("broken_nothing", str(tmp_path))
    assert proc.returncode == 1
    assert "no corpus app 'broken_nothing'" in proc.stderr
    assert "--list" in proc.stderr


def test_app_dir_builds_a_variant_once_and_leaves_whole_apps_in_place() -> None:
    assert corpus.app_dir("reference") == corpus.CORPUS / "reference"
    first = corpus.app_dir("broken_pii_tag")
    assert first.name == "broken_pii_tag"
    assert corpus.app_dir("broken_pii_tag") == first
    assert (first / "app" / "analytics.py").is_file()


@pytest.fixture
def tiny(tmp_path: Path) -> corpus.Corpus:
    """A corpus of one whole app (``base``) to write patches against."""
    (tmp_path / "base" / "pkg").mkdir(parents=True)
    (tmp_path / "base" / "requirements.txt").write_text("flask\n")
    (tmp_path / "base" / "pkg" / "mod.py").write_text("a = 1\nb = 2\nc = 3\n")
    (tmp_path / "base" / "tests").mkdir()
    (tmp_path / "base" / "tests" / "test_x.py").write_text("x = 1\n")
    return corpus.Corpus(tmp_path, cache="posthog-verify-tiny")


def test_a_patch_edits_renames_creates_and_chains(tiny: corpus.Corpus, tmp_path: Path) -> None:
    (tiny.root / "one.patch").write_text(
        "base: base\nrename: pkg -> lib\n"
        "--- a/lib/mod.py\n+++ b/lib/mod.py\n@@ -1,3 +1,3 @@\n a = 1\n-b = 2\n+b = 20\n c = 3\n"
        "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n"
    )
    (tiny.root / "two.patch").write_text(
        "base: one\n--- a/new.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-hello\n"
    )
    built = tiny.materialize("two", tmp_path / "out")
    assert (built / "lib" / "mod.py").read_text() == "a = 1\nb = 20\nc = 3\n"
    assert not (built / "new.txt").exists()
    assert not (built / "tests").exists()
    assert tiny.names() == ["base", "one", "two"]
    assert tiny.app_dir("two").parent.name.startswith("posthog-verify-tiny-")


def test_a_stale_patch_is_refused_naming_file_line_and_fix(
    tiny: corpus.Corpus, tmp_path: Path
) -> None:
    (tiny.root / "stale.patch").write_text(
        "base: base\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -2 +2 @@\n-b = 5\n+b = 6\n"
    )
    with pytest.raises(corpus.PatchError) as raised:
        tiny.materialize("stale", tmp_path / "out")
    message = str(raised.value)
    assert "pkg/mod.py line 2: the patch expects 'b = 5', the base has 'b = 2'" in message
    assert "--diff stale DIR" in message


def test_a_patch_without_its_base_is_refused(tiny: corpus.Corpus, tmp_path: Path) -> None:
    (tiny.root / "orphan.patch").write_text("--- a/x\n+++ b/x\n")
    with pytest.raises(corpus.PatchError, match="no 'base: <app>' line"):
        tiny.materialize("orphan", tmp_path / "out")


def test_a_variant_can_keep_the_bases_own_suite(tmp_path: Path) -> None:
    """broken_own_test says "inherit: tests, pytest.ini": its one change is the
    template, and the base's tests come with it unchanged."""
    assert corpus.not_inherited("broken_own_test") == frozenset()
    assert corpus.not_inherited("broken_pii_text") == corpus.NOT_INHERITED
    built = corpus.materialize("broken_own_test", tmp_path)
    base = ROOT / "target_apps" / corpus.base_of("broken_own_test")
    assert (built / "tests" / "test_app.py").read_text() == (
        base / "tests" / "test_app.py"
    ).read_text()
    assert (built / "pytest.ini").is_file()
    assert "tests/" not in corpus.patch_path("broken_own_test").read_text()
