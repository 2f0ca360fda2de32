"""Build a corpus variant: its base app, copied, with the variant's one change applied.

A variant (every ``broken_*`` app, and the ``correct_*`` styles derived from
``reference``) is stored as ``target_apps/<name>.patch``: a unified diff
against the app it is derived from, so the defect is the patch and nothing
else. ``reference``, ``baseline`` and any standalone app stay whole folders::

    python -m target_apps.materialize broken_pii_tag /tmp/out   # -> /tmp/out/broken_pii_tag
    python -m target_apps.materialize --list                     # every app, whole or variant
    python -m target_apps.materialize --diff broken_pii_tag DIR  # rewrite the patch from DIR
    python -m target_apps.materialize --corpus tests/apps/styles broken_explicit_ip_xff /tmp/out

Why patches and not overlays of whole files: an overlay repeats the whole file
it changes (the reader still needs a diff to find the defect, and every copy
of ``analytics.py`` drifts from the base); a patch shows only the changed
lines with their context, and applying it strictly (every context line must
match) fails loudly the day the base changes under it.

Patch format: a header of ``key: value`` lines (``base:`` names the app it
applies to; ``rename: old -> new`` moves a base path first; ``inherit: tests``
keeps a part the variants do not inherit, for a variant about the app's own
tests), then the diff as
:func:`difflib.unified_diff` writes it (``--- a/path`` / ``+++ b/path``,
``/dev/null`` for a created or deleted file). The base's own test suite
(``tests/``, ``pytest.ini``) is not inherited: it tests the base.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import shutil
import sys
import tempfile
import typing as t
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
#: What a variant does not inherit from its base, and what is never copied.
NOT_INHERITED = frozenset({"tests", "pytest.ini"})
NEVER_COPIED = frozenset({"__pycache__", "instance", ".pytest_cache"})
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """A variant's patch does not apply to its base (the base changed, or the
    patch was edited by hand): the message names the file and hunk."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A folder of whole apps and ``<name>.patch`` variants of them.

    :param root: the folder (``target_apps/`` by default; ``tests/apps/styles/``
        is one too).
    :param cache: the name of the folder under the temporary directory where
        :meth:`app_dir` keeps built variants.
    :param bases: where a base this folder does not hold is found (the field
        apps of ``tests/apps/field`` are patches of ``target_apps/reference``).
    """

    root: Path
    cache: str = "posthog-verify-corpus"
    bases: Corpus | None = None

    def _holds(self, name: str) -> bool:
        return self.is_variant(name) or (self.root / name / "requirements.txt").is_file()

    def _owner(self, name: str) -> Corpus:
        """The corpus that holds app ``name``: this one, or the one its bases name."""
        if self._holds(name) or self.bases is None:
            return self
        return self.bases._owner(name)

    def patch_path(self, name: str) -> Path:
        return self.root / f"{name}.patch"

    def is_variant(self, name: str) -> bool:
        return self.patch_path(name).is_file()

    def names(self) -> list[str]:
        """Every app of the corpus: whole folders with a ``requirements.txt``, and patches."""
        whole = {p.name for p in self.root.iterdir() if (p / "requirements.txt").is_file()}
        variants = {p.stem for p in self.root.glob("*.patch")}
        return sorted(whole | variants)

    def header(self, name: str) -> dict[str, list[str]]:
        """The patch's ``key: value`` header lines, by key (a key may repeat)."""
        fields: dict[str, list[str]] = {}
        for line in self.patch_path(name).read_text().splitlines():
            if line.startswith("--- "):
                break
            key, sep, value = line.partition(":")
            if sep and key.strip().isidentifier():
                fields.setdefault(key.strip(), []).append(value.strip())
        return fields

    def base_of(self, name: str) -> str:
        """The app a variant's patch applies to."""
        bases = self.header(name).get("base")
        if not bases:
            raise PatchError(f"{self.patch_path(name)}: no 'base: <app>' line before the diff")
        return bases[0]

    def not_inherited(self, name: str) -> frozenset[str]:
        """What variant ``name`` leaves out of its base: :data:`NOT_INHERITED`
        less what its ``inherit:`` lines keep."""
        kept = {
            part.strip()
            for line in self.header(name).get("inherit", [])
            for part in line.split(",")
        }
        return NOT_INHERITED - kept

    def _ignore(self, inherited: bool) -> t.Callable[[str, list[str]], set[str]]:
        def ignore(folder: str, entries: list[str]) -> set[str]:
            skipped = set(NEVER_COPIED)
            if inherited and Path(folder) == self.root:
                skipped |= NOT_INHERITED
            return {e for e in entries if e in skipped}

        return ignore

    def materialize(self, name: str, parent: Path) -> Path:
        """Write app ``name`` to ``parent/name`` (a whole app is copied as it is).

        :raises PatchError: when a variant's patch does not apply.
        :raises FileNotFoundError: when no app of that name exists.
        """
        dest = parent / name
        if self._owner(name) is not self:
            return self._owner(name).materialize(name, parent)
        if not self.is_variant(name):
            source = self.root / name
            if not (source / "requirements.txt").is_file():
                raise FileNotFoundError(
                    f"no corpus app {name!r}: expected {source}/ or {self.patch_path(name)} "
                    f"(python -m target_apps.materialize --list names them)"
                )
            shutil.copytree(source, dest, ignore=self._ignore(inherited=False))
            return dest
        with tempfile.TemporaryDirectory(prefix="pv-base-") as scratch:
            base = self.materialize(self.base_of(name), Path(scratch))
            for part in self.not_inherited(name):
                target = base / part
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            shutil.copytree(base, dest)
        self.apply(name, dest)
        return dest

    def apply(self, name: str, root: Path) -> None:
        """Apply variant ``name``'s renames and diff to the tree at ``root``."""
        for rename in self.header(name).get("rename", []):
            old, _, new = (part.strip() for part in rename.partition("->"))
            if not (root / old).exists():
                raise PatchError(
                    f"{self.patch_path(name)}: rename {old!r}: no such path in the base"
                )
            (root / old).rename(root / new)
        text = self.patch_path(name).read_text()
        for path, hunks in self._files(text, name):
            self._apply_file(root, path, hunks, name)

    def _files(self, text: str, name: str) -> list[tuple[tuple[str, str], list[list[str]]]]:
        """``((old path, new path), hunks)`` per file; a hunk is its lines, header first."""
        files: list[tuple[tuple[str, str], list[list[str]]]] = []
        lines = text.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            if (
                line.startswith("--- ")
                and index + 1 < len(lines)
                and lines[index + 1][:4] == "+++ "
            ):
                files.append(((line[4:].strip(), lines[index + 1][4:].strip()), []))
                index += 2
                continue
            if line.startswith("@@"):
                if not files:
                    raise PatchError(
                        f"{self.patch_path(name)}: a hunk before any '--- a/file' line"
                    )
                files[-1][1].append([line])
            elif files and files[-1][1] and line[:1] in (" ", "+", "-", "\\", ""):
                files[-1][1][-1].append(line)
            index += 1
        return files

    def _apply_file(
        self, root: Path, paths: tuple[str, str], hunks: list[list[str]], name: str
    ) -> None:
        old, new = (p if p == "/dev/null" else p.split("/", 1)[1] for p in paths)
        source = [] if old == "/dev/null" else (root / old).read_text().splitlines(keepends=True)
        result: list[str] = []
        cursor = 0
        for hunk in hunks:
            match = _HUNK.match(hunk[0])
            if match is None:
                raise PatchError(
                    f"{self.patch_path(name)}: {old}: malformed hunk header {hunk[0]!r}"
                )
            start = max(int(match.group(1)) - (0 if match.group(2) == "0" else 1), 0)
            result += source[cursor:start]
            cursor = start
            for line in hunk[1:]:
                tag, body = line[:1] or " ", line[1:]
                if tag == "\\":
                    result[-1] = result[-1].removesuffix("\n")
                    continue
                if tag in " -":
                    seen = source[cursor].rstrip("\n") if cursor < len(source) else None
                    if seen != body:
                        raise PatchError(
                            f"{self.patch_path(name)}: {old} line {cursor + 1}: the patch expects "
                            f"{body!r}, the base has {seen!r} (regenerate it with "
                            f"python -m target_apps.materialize --diff {name} DIR)"
                        )
                    cursor += 1
                if tag in " +":
                    result.append(body + "\n")
        result += source[cursor:]
        if new == "/dev/null":
            (root / old).unlink()
            return
        (root / new).parent.mkdir(parents=True, exist_ok=True)
        (root / new).write_text("".join(result))

    def _tree(self, root: Path) -> dict[str, list[str]]:
        return {
            p.relative_to(root).as_posix(): p.read_text().splitlines(keepends=True)
            for p in sorted(root.rglob("*"))
            if p.is_file() and NEVER_COPIED.isdisjoint(p.relative_to(root).parts)
        }

    def diff(self, name: str, edited: Path) -> str:
        """The patch that turns ``name``'s base into the tree at ``edited``, with
        ``name``'s current header (its base, renames and description) kept."""
        fields = self.header(name)
        with tempfile.TemporaryDirectory(prefix="pv-diff-") as scratch:
            base = self.materialize(fields["base"][0], Path(scratch))
            for part in self.not_inherited(name):
                shutil.rmtree(base / part, ignore_errors=True)
                (base / part).unlink(missing_ok=True)
            for rename in fields.get("rename", []):
                old, _, new = (part.strip() for part in rename.partition("->"))
                (base / old).rename(base / new)
            before, after = self._tree(base), self._tree(edited)
        lines = [f"{key}: {value}\n" for key, values in fields.items() for value in values]
        for rel in sorted(before.keys() | after.keys()):
            old = f"a/{rel}" if rel in before else "/dev/null"
            new = f"b/{rel}" if rel in after else "/dev/null"
            for line in difflib.unified_diff(before.get(rel, []), after.get(rel, []), old, new):
                lines.append(
                    line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                )
        return "".join(lines)

    def _digest(self, name: str) -> str:
        """A hash of everything ``name`` is built from (its patch chain and the whole base)."""
        digest = hashlib.sha256()
        corpus = self._owner(name)
        while corpus.is_variant(name):
            digest.update(corpus.patch_path(name).read_bytes())
            name = corpus.base_of(name)
            corpus = corpus._owner(name)
        for rel, lines in self._tree(corpus.root / name).items():
            digest.update(rel.encode() + b"\0" + "".join(lines).encode())
        return digest.hexdigest()[:16]

    def app_dir(self, name: str) -> Path:
        """Where app ``name`` can be read or run from: a whole app's own folder, or a
        variant materialised once into the temporary directory (keyed by a hash of
        what it is built from, so an edit to a patch or its base builds afresh, and
        parallel test workers share one copy)."""
        if self._owner(name) is not self:
            return self._owner(name).app_dir(name)
        if not self.is_variant(name):
            return self.root / name
        cache = Path(tempfile.gettempdir()) / f"{self.cache}-{self._digest(name)}"
        if (cache / name / "requirements.txt").is_file():
            return cache / name
        cache.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
        built = self.materialize(name, scratch)
        try:
            built.rename(cache / name)
        except OSError:  # another worker won the race: its copy is the same
            shutil.rmtree(scratch, ignore_errors=True)
            return cache / name
        shutil.rmtree(scratch, ignore_errors=True)
        return cache / name


#: The target apps, and module-level shortcuts to them.
TARGET_APPS = Corpus(CORPUS)
patch_path = TARGET_APPS.patch_path
is_variant = TARGET_APPS.is_variant
names = TARGET_APPS.names
header = TARGET_APPS.header
base_of = TARGET_APPS.base_of
not_inherited = TARGET_APPS.not_inherited
materialize = TARGET_APPS.materialize
diff = TARGET_APPS.diff
app_dir = TARGET_APPS.app_dir


def main(argv: list[str]) -> int:
    corpus = TARGET_APPS
    if argv[:1] == ["--corpus"] and len(argv) >= 2:
        corpus, argv = Corpus(Path(argv[1]).resolve()), argv[2:]
    if argv[:1] == ["--list"]:
        for name in corpus.names():
            kind = f"variant of {corpus.base_of(name)}" if corpus.is_variant(name) else "whole app"
            print(f"{name}\t{kind}")
        return 0
    if len(argv) == 3 and argv[0] == "--diff":
        corpus.patch_path(argv[1]).write_text(corpus.diff(argv[1], Path(argv[2])))
        return 0
    if len(argv) != 2 or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    parent = Path(argv[1])
    parent.mkdir(parents=True, exist_ok=True)
    try:
        print(corpus.materialize(argv[0], parent))
    except (PatchError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
