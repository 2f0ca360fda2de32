"""A fresh, disposable copy of an app's folder for each boot, bounded.

The user's tree is never modified: the app runs (and writes its databases,
uploads, ``__pycache__``) in a temporary copy::

    workdir = fresh_copy(Path("target_apps/shop"), tmp_path)   # tmp_path/shop
    second = clone(workdir, tmp_path / "noenv")                 # cheap, before any boot

The tree is untrusted (often a coding agent's output), so the copy is bounded:

- what is not the app stays out: version control, every virtualenv (any
  folder holding a ``pyvenv.cfg``, whatever its name), ``node_modules``, tool
  caches, and anything that is not a file, a folder or a link (a FIFO in the
  tree would block the copy forever);
- the bytes it would write are counted before anything is written, and past
  ``limit_bytes`` nothing is: :class:`WorkspaceTooLarge` names the limit, the
  size, the biggest entries and how to raise the limit;
- a sparse file is copied sparse (its holes stay holes), so a 10 GB file of
  holes costs what its data costs, and counts only that;
- a symbolic link is copied as a link, never followed: the copy never reads
  outside the app's folder, whatever a link points at (the app, once running,
  sees the link as it would in its own tree).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import stat
from pathlib import Path

from harness.limits import DEFAULT_LIMIT_BYTES

# Version control, caches and environments are not the app. ``instance/`` is
# copied: apps keep their config and SQLite database there and fail without
# them. Earlier users in that database do not collide with the scenario's (its
# canary email is unique per run), and every boot gets its own copy, so one
# run never carries into the next.
IGNORED = (".git", "__pycache__", ".venv", "venv", "node_modules", ".pytest_cache")
IGNORED_SUFFIXES = (".pyc",)
# More of what is not the app: other version control, other tools' caches.
NOT_THE_APP = (
    ".hg",
    ".svn",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".cache",
    ".eggs",
    ".ipynb_checkpoints",
)
#: A folder holding this file is a virtualenv (PEP 405), whatever its name.
VENV_MARKER = "pyvenv.cfg"

#: What every entry counts at least (its inode and directory entry), so a
#: million empty files cannot pass for an empty tree.
ENTRY_BYTES = 512
#: Where the limit is raised (resolved in :mod:`harness.settings`).
LIMIT_FIX = (
    "raise it with --posthog-workspace-limit SIZE (e.g. 4G), ini posthog_workspace_limit "
    "or env POSTHOG_VERIFY_WORKSPACE_LIMIT, or move the data out of the app's folder"
)

# Files hard-linked by clone(): what a Flask app reads and never writes in
# place (its code, templates, static assets). Everything else is copied, so a
# database or a data file one boot writes is never the other boot's.
SHARED_SUFFIXES = frozenset(
    {".py", ".pyi", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".css", ".js", ".mjs",
     ".map", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".woff", ".woff2",
     ".ttf", ".otf", ".eot", ".md", ".rst"}
)  # fmt: skip

_CHUNK = 1024 * 1024


class WorkspaceTooLarge(Exception):
    """The app's folder would take more than the limit: nothing was copied."""

    def __init__(self, root: Path, size: int, limit: int, biggest: list[tuple[int, str]]) -> None:
        shown = ", ".join(f"{rel} ({_human(n)})" for n, rel in biggest)
        super().__init__(
            f"{root}: the workspace copy would take {_human(size)} on disk, past the limit "
            f"of {_human(limit)} (biggest: {shown}); {LIMIT_FIX}"
        )
        self.size = size
        self.limit = limit


@dataclasses.dataclass
class _Plan:
    """What a copy will create, relative to the app root, found before writing."""

    dirs: list[str] = dataclasses.field(default_factory=list)
    files: list[tuple[str, os.stat_result]] = dataclasses.field(default_factory=list)
    links: list[str] = dataclasses.field(default_factory=list)
    size: int = 0


def _ignore(directory: str, names: list[str]) -> set[str]:
    """The entries of ``directory`` that are not the app."""
    left_out = {n for n in names if n in IGNORED or n in NOT_THE_APP}
    left_out |= {n for n in names if n.endswith(IGNORED_SUFFIXES)}
    return left_out | {n for n in names if _is_venv(Path(directory, n))}


def _is_venv(path: Path) -> bool:
    # A link is copied as a link whatever it points at: never look through it.
    return not path.is_symlink() and (path / VENV_MARKER).is_file()


def on_disk(st: os.stat_result) -> int:
    """Bytes a sparse copy of this file writes: its data, not its holes."""
    blocks = getattr(st, "st_blocks", None)
    return st.st_size if blocks is None else min(st.st_size, blocks * 512)


def _plan(app_root: Path) -> _Plan:
    plan = _Plan()
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(app_root / rel_dir) as scan:
            entries = list(scan)
        left_out = _ignore(str(app_root / rel_dir), [e.name for e in entries])
        for entry in entries:
            if entry.name in left_out:
                continue
            rel = str(Path(rel_dir, entry.name))
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                plan.links.append(rel)
                plan.size += ENTRY_BYTES
            elif stat.S_ISDIR(st.st_mode):
                plan.dirs.append(rel)
                pending.append(rel)
                plan.size += ENTRY_BYTES
            elif stat.S_ISREG(st.st_mode):
                plan.files.append((rel, st))
                plan.size += max(on_disk(st), ENTRY_BYTES)
    return plan


def fresh_copy(
    app_root: Path,
    dest_parent: Path,
    name: str | None = None,
    *,
    limit_bytes: int = DEFAULT_LIMIT_BYTES,
) -> Path:
    """Copy ``app_root`` to ``dest_parent/<name>`` (default: its folder name).

    :raises WorkspaceTooLarge: it would take more than ``limit_bytes`` on disk.
    :raises FileExistsError: the destination exists; each boot needs its own.
    """
    app_root = Path(app_root)
    dest = Path(dest_parent) / (name or app_root.resolve().name)
    plan = _plan(app_root)
    if plan.size > limit_bytes:
        biggest = sorted(((on_disk(st), rel) for rel, st in plan.files), reverse=True)[:3]
        raise WorkspaceTooLarge(app_root, plan.size, limit_bytes, biggest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _materialise(app_root, dest, plan, share=frozenset())
    shutil.copystat(app_root, dest)
    return dest


def clone(copy: Path, dest: Path) -> Path:
    """A second workspace from a first one no boot has written to yet.

    Code, templates and static assets are hard links (:data:`SHARED_SUFFIXES`:
    nothing a Flask app writes in place); every other file is copied, so a
    database one boot writes is never the other's.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    _materialise(copy, dest, _plan(copy), share=SHARED_SUFFIXES)
    return dest


def _materialise(src: Path, dest: Path, plan: _Plan, *, share: frozenset[str]) -> None:
    """Create ``dest`` as ``plan`` says: folders, links as links, then files
    (hard-linked when their suffix is in ``share``, else copied)."""
    dest.mkdir()
    for rel in sorted(plan.dirs):  # parents sort before their children
        (dest / rel).mkdir()
    for rel in plan.links:
        (dest / rel).symlink_to((src / rel).readlink())
    for rel, st in plan.files:
        if Path(rel).suffix.lower() in share and _linked(src / rel, dest / rel):
            continue
        copy_file(src / rel, dest / rel, st)


def _linked(src: Path, dst: Path) -> bool:
    """Hard-link ``dst`` to ``src``; False where the filesystem cannot (then copy)."""
    try:
        dst.hardlink_to(src)
    except OSError:
        return False
    return True


def copy_file(src: Path, dst: Path, st: os.stat_result) -> None:
    """Copy one regular file with its mode and times; holes stay holes."""
    if on_disk(st) < st.st_size:
        _copy_sparse(src, dst, st.st_size)
        shutil.copystat(src, dst, follow_symlinks=False)
    else:
        shutil.copy2(src, dst, follow_symlinks=False)


def _copy_sparse(src: Path, dst: Path, size: int) -> None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd_in = os.open(src, flags)
    try:
        fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for start, end in _data_extents(fd_in, size):
                _copy_range(fd_in, fd_out, start, end)
            os.ftruncate(fd_out, size)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """Where the file holds data (SEEK_DATA/SEEK_HOLE); the whole file where
    the filesystem cannot say (zero chunks are then skipped while copying)."""
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return [(0, size)]
    extents: list[tuple[int, int]] = []
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, seek_data)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            return [(0, size)]
        end = os.lseek(fd, start, seek_hole)
        extents.append((start, min(end, size)))
        offset = end
    return extents


def _copy_range(fd_in: int, fd_out: int, start: int, end: int) -> None:
    """Copy ``[start, end)`` to the same offsets, leaving all-zero chunks as holes."""
    zeros = bytes(_CHUNK)
    offset = start
    while offset < end:
        chunk = os.pread(fd_in, min(_CHUNK, end - offset), offset)
        if not chunk:
            return
        if chunk != zeros[: len(chunk)]:
            os.pwrite(fd_out, chunk, offset)
        offset += len(chunk)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns
