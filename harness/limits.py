"""The default sizes the options bound, in a module of their own: reading the
options (:mod:`harness.settings`, imported by every pytest run where the
plugin is installed) then imports neither the mock nor the workspace code."""

from __future__ import annotations

#: What one mock store keeps, bodies and decoded events together (twenty 60 MB
#: posts once took pytest to 819 MiB; a real app's whole run is a few hundred KB).
DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024

#: Bytes a workspace may take on disk (holes of sparse files not counted).
DEFAULT_LIMIT_BYTES = 1024**3
