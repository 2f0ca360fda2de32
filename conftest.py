"""The project's own test configuration lives in ``tests/conftest.py``.

This root conftest only keeps pytest from collecting the target apps' own test
suites as part of ours: several apps share module names (``app``, ``config``),
and each suite is run in its own subprocess by ``tests/target_apps``.
"""

from __future__ import annotations

collect_ignore_glob = ["target_apps/*", "bench/*"]
