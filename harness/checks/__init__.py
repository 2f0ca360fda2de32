"""The checks: one pure function per check id, ``(Run) -> Result``.

Semantics are in ``docs/checks.md``; the rules every check shares (manifest
skip, boot failure, harness faults, a check that raises) are applied once,
by :func:`run_checks`, not inside each check::

    from harness.checks import run_checks
    results = run_checks(run)          # one Result per id in CHECK_IDS, in order

An app's score (passed out of applicable) is :class:`harness.report.Score`.

A single check can be called directly, e.g. ``CHECKS["no_pii_in_events"](run)``.
"""

from __future__ import annotations

import typing as t

from harness.checks._rules import apply_rules
from harness.checks._rules import not_applicable as not_applicable
from harness.checks.behaviour import behaviour_preserved as behaviour_preserved
from harness.checks.boot import boots as boots
from harness.checks.boot import boots_without_posthog_env as boots_without_posthog_env
from harness.checks.claims import setup_report_matches as setup_report_matches
from harness.checks.claims import tracking_plan_holds as tracking_plan_holds
from harness.checks.config import exception_autocapture as exception_autocapture
from harness.checks.config import host_from_env as host_from_env
from harness.checks.config import key_from_env as key_from_env
from harness.checks.config import single_client as single_client
from harness.checks.delivery import flush_on_shutdown as flush_on_shutdown
from harness.checks.delivery import no_silent_drops as no_silent_drops
from harness.checks.exceptions import exception_captured as exception_captured
from harness.checks.headers import distinct_id_from_header as distinct_id_from_header
from harness.checks.headers import session_id_from_header as session_id_from_header
from harness.checks.identity import identify_on_login as identify_on_login
from harness.checks.identity import identify_on_signup as identify_on_signup
from harness.checks.ids import CHECK_IDS as CHECK_IDS
from harness.checks.pii import no_pii_in_events as no_pii_in_events

if t.TYPE_CHECKING:
    from harness.run import Run
    from harness.verdict import Result

_FUNCTIONS: dict[str, t.Callable[[Run], Result]] = {
    "boots": boots,
    "boots_without_posthog_env": boots_without_posthog_env,
    "key_from_env": key_from_env,
    "host_from_env": host_from_env,
    "single_client": single_client,
    "exception_autocapture": exception_autocapture,
    "exception_captured": exception_captured,
    "flush_on_shutdown": flush_on_shutdown,
    "identify_on_signup": identify_on_signup,
    "identify_on_login": identify_on_login,
    "no_pii_in_events": no_pii_in_events,
    "distinct_id_from_header": distinct_id_from_header,
    "session_id_from_header": session_id_from_header,
    "no_silent_drops": no_silent_drops,
    "behaviour_preserved": behaviour_preserved,
    "setup_report_matches": setup_report_matches,
    "tracking_plan_holds": tracking_plan_holds,
}

#: Every check, in catalogue order (``CHECK_IDS``).
CHECKS: dict[str, t.Callable[[Run], Result]] = {check: _FUNCTIONS[check] for check in CHECK_IDS}


def run_checks(run: Run) -> list[Result]:
    """Every check's verdict on ``run``, in catalogue order, the shared rules applied."""
    return apply_rules(run, CHECKS)
