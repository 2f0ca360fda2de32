"""A private copy of the check catalogue's order, for column order in reports.

It mirrors ``CHECK_IDS`` that ``harness/checks/ids.py`` will own; switch the
import in :mod:`harness.report.model` to that module once it exists and delete
this file.
"""

from __future__ import annotations

CHECK_IDS: tuple[str, ...] = (
    "boots",
    "boots_without_posthog_env",
    "key_from_env",
    "host_from_env",
    "single_client",
    "exception_autocapture",
    "exception_captured",
    "flush_on_shutdown",
    "identify_on_signup",
    "identify_on_login",
    "no_pii_in_events",
    "distinct_id_from_header",
    "session_id_from_header",
    "no_silent_drops",
)
