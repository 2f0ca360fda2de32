"""The app side imports only the standard library and what the app has.

It runs under the app's interpreter, where neither pytest nor the plugin's own
dependencies are installed: an import of anything else would crash every app
there. Proven in both interpreters, with every other import blocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.subject.interpreter import APP_SIDE_MODULES
from harness.subject.interpreter import app_side_root

PROBE = Path(__file__).with_name("app_side_probe.py")


def _probe(python: str, allowed: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(app_side_root())
    return subprocess.run(
        [python, str(PROBE), json.dumps(allowed)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_app_side_imports_nothing_else(any_python: str, tmp_path: Path) -> None:
    proc = _probe(any_python, APP_SIDE_MODULES, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["refused"] == []
    assert set(seen["harness"]) <= set(APP_SIDE_MODULES)
    assert "harness.serve" in seen["harness"]
    assert not {"pytest", "_pytest", "responses", "pluggy"} & set(seen["loaded"])


def test_the_app_side_root_holds_only_the_harness_package() -> None:
    """Not the plugin's site-packages: its Flask and posthog would shadow the app's."""
    root = app_side_root()
    assert [p.name for p in root.iterdir() if not p.name.startswith(".")] == ["harness"]
    assert (root / "harness").resolve() == Path(__file__).resolve().parents[2] / "harness"
    assert app_side_root() == root  # made once, then reused


def test_the_probe_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The other way: a module the app side needs but may not import is refused."""
    allowed = tuple(m for m in APP_SIDE_MODULES if m != "harness.subject.runtime")
    proc = _probe(sys.executable, allowed, tmp_path)
    assert proc.returncode != 0
    assert "blocked for the app side: harness.subject.runtime" in proc.stderr
