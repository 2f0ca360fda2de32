"""A fresh, disposable copy of an app's folder for each boot.

The user's tree is never modified: the app runs (and writes its databases,
uploads, ``__pycache__``) in a temporary copy::

    workdir = fresh_copy(Path("target_apps/shop"), tmp_path)   # tmp_path/shop
"""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

# Version control, caches and environments are not the app. ``instance/`` is
# copied: apps keep their config and SQLite database there and fail without
# them. Earlier users in that database do not collide with the scenario's (its
# canary email is unique per run), and every boot gets its own copy, so one
# run never carries into the next.
IGNORED = (".git", "__pycache__", ".venv", "venv", "node_modules", ".pytest_cache")
IGNORED_SUFFIXES = (".pyc",)


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in IGNORED or n.endswith(IGNORED_SUFFIXES)}


def fresh_copy(app_root: Path, dest_parent: Path, name: str | None = None) -> Path:
    """Copy ``app_root`` to ``dest_parent/<name>`` (default: its folder name).

    :raises FileExistsError: the destination exists; each boot needs its own.
    """
    dest = Path(dest_parent) / (name or Path(app_root).resolve().name)
    shutil.copytree(app_root, dest, ignore=t.cast(t.Any, _ignore), symlinks=True)
    return dest
