"""Run in the app's interpreter: import the app side with everything else blocked.

Allowed: the standard library, the app side of ``harness``
(:data:`harness.subject.interpreter.APP_SIDE_MODULES`), flask, werkzeug,
posthog and what they require, and the app's own packages the instrumentation
patches only when the app has them (python-dotenv, httpx: guarded imports). Anything else raises
ImportError at import time. Prints the JSON list of what was refused and the
non-stdlib top-level modules loaded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import json
import re
import sys
import tempfile
import typing as t
from pathlib import Path

APP_SIDE = set(json.loads(sys.argv[1]))
APP_PACKAGES = ("flask", "werkzeug", "posthog")


def _closure(names: t.Iterable[str]) -> set[str]:
    """The distributions ``names`` need, transitively (markers ignored: wider)."""
    seen: set[str] = set()
    todo = [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for spec in requires:
            if "extra ==" not in spec:
                todo.append(re.split(r"[ ;<>=!~\[(]", spec, maxsplit=1)[0].lower())
    return seen


def _top_levels(distributions: set[str]) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    wanted = {d.replace("_", "-") for d in distributions}
    return {
        top
        for top, dists in mapping.items()
        if any(d.lower().replace("_", "-") in wanted for d in dists)
    }


OPTIONAL = {"dotenv", "httpx"}
ALLOWED = set(sys.stdlib_module_names) | _top_levels(_closure(APP_PACKAGES)) | OPTIONAL
ALLOWED.add("harness")
refused: list[str] = []


def _importer() -> str:
    """The module whose code asked for the import (import machinery skipped)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        frame = frame.f_back
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


class Blocker(importlib.abc.MetaPathFinder):
    """Refuses what the app side asks for beyond the allowed; a library's own
    optional imports (urllib3 trying brotlicffi) are the library's business."""

    def find_spec(self, fullname: str, path: t.Any, target: t.Any = None) -> None:
        top = fullname.split(".")[0]
        blocked = top not in ALLOWED or (top == "harness" and fullname not in APP_SIDE)
        if blocked and _importer().split(".")[0] in ("harness", "__main__"):
            refused.append(fullname)
            raise ImportError(f"blocked for the app side: {fullname}")


sys.meta_path.insert(0, Blocker())
import harness.serve  # noqa: E402, F401  (imported for its imports)
from harness.subject.instrument import Instrumentation  # noqa: E402
from harness.subject.instrument import ListSink  # noqa: E402

importlib.import_module("harness.subject.zygote")
instrumentation = Instrumentation(
    Path(tempfile.mkdtemp()), ListSink(), mock_url="http://127.0.0.1:9"
)
instrumentation.install()
instrumentation.uninstall()
loaded = sorted({m.split(".")[0] for m in sys.modules} - set(sys.stdlib_module_names))
harness_loaded = sorted(m for m in sys.modules if m.split(".")[0] == "harness")
print(json.dumps({"refused": refused, "loaded": loaded, "harness": harness_loaded}))
