"""The stable check ids, in the order reports list them.

Kept apart from the checks themselves so the manifest loader can validate
``[skip]`` keys without importing any check::

    from harness.checks.ids import CHECK_IDS
    assert "boots" in CHECK_IDS
"""

from __future__ import annotations

#: The rules of PostHog's Flask guidance, judged on every app from its run alone.
GUIDANCE_IDS: tuple[str, ...] = (
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

#: The integration against what it must keep or claims: judged only when the run
#: has something to compare with (a baseline, a setup report, a tracking plan);
#: ``skip`` otherwise.
CLAIM_IDS: tuple[str, ...] = (
    "behaviour_preserved",
    "setup_report_matches",
    "tracking_plan_holds",
)

CHECK_IDS: tuple[str, ...] = GUIDANCE_IDS + CLAIM_IDS

#: The checks that read what the app sent (the events). When the events are
#: not all there for a reason that is not the app's (past the mock's budget, a
#: stop that was killed before anything was delivered), they are ``error``;
#: the others read the boot, the child's records or the requests.
READ_EVENTS: tuple[str, ...] = (
    "key_from_env",
    "exception_captured",
    "flush_on_shutdown",
    "identify_on_signup",
    "identify_on_login",
    "no_pii_in_events",
    "distinct_id_from_header",
    "session_id_from_header",
    "no_silent_drops",
)
