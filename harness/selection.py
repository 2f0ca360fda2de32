"""Node ids on the command line: ``pytest --posthog-verify ... 'reference::boots'``.

In verify mode the collection starts at the rootdir whatever the arguments
are, so the ids a user copies from the output (``app``, ``app::check``, with
or without the ``@posthog-verify-N`` group suffix an xdist worker adds) are
read here and select the items::

    selection = Selection.of(["reference::boots"], entries, base=Path.cwd())
    selection.wants("reference", "boots")  # True
    selection.wants("reference", "key_from_env")  # False

An argument that is an existing path is pytest's (the rootdir, a test path)
and selects nothing, unless it is the folder of one of the apps. A name that
is neither an app nor a check is a usage error with the names it could mean.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing as t
from pathlib import Path

import pytest

from harness.checks.ids import CHECK_IDS

if t.TYPE_CHECKING:
    from harness.session import AppEntry


@dataclasses.dataclass(frozen=True)
class Selection:
    """:param wanted: app name -> the checks asked for (None: all of them);
    empty: no id was given, everything runs."""

    wanted: dict[str, frozenset[str] | None]

    @classmethod
    def of(cls, args: t.Iterable[str], entries: t.Sequence[AppEntry], *, base: Path) -> Selection:
        names = {entry.name for entry in entries}
        by_path = {entry.path: entry.name for entry in entries}
        wanted: dict[str, frozenset[str] | None] = {}
        for arg in args:
            picked = _parse(arg, names, by_path, base)
            if picked is None:
                continue
            app, check = picked
            if check is None or wanted.get(app, frozenset()) is None:
                wanted[app] = None
            else:
                wanted[app] = (wanted.get(app) or frozenset()) | {check}
        return cls(wanted)

    def wants_app(self, app: str) -> bool:
        return not self.wanted or app in self.wanted

    def wants(self, app: str, check: str) -> bool:
        if not self.wanted:
            return True
        if app not in self.wanted:
            return False
        checks = self.wanted[app]
        return checks is None or check in checks


def _parse(
    arg: str, names: set[str], by_path: dict[Path, str], base: Path
) -> tuple[str, str | None] | None:
    """``(app, check or None)``; None for a path that is pytest's own."""
    if "::" not in arg:
        path = Path(arg) if Path(arg).is_absolute() else base / arg
        if path.exists():
            return (by_path[path.resolve()], None) if path.resolve() in by_path else None
        return (_known(arg, names, "app"), None)
    app, _, rest = arg.partition("::")
    check = rest.split("@", 1)[0].strip()
    if app not in names and Path(app).exists():
        resolved = (Path(app) if Path(app).is_absolute() else base / app).resolve()
        app = by_path.get(resolved, app)
    return _known(app, names, "app"), _known(check, set(CHECK_IDS), "check")


def _known(name: str, known: set[str], what: str) -> str:
    if name in known:
        return name
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listed = ", ".join(sorted(known)[:10]) + (
        f" and {len(known) - 10} more" if len(known) > 10 else ""
    )
    raise pytest.UsageError(
        f"{name!r} is not {'an' if what == 'app' else 'a'} {what} of this run.{hint} "
        f"Give a node id as app::check; the {what}s are: {listed or 'none'}."
    )
