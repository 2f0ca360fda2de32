"""Integrations in styles the corpus does not cover get the verdicts they deserve.

Every check passes on the correct ones, whatever their shape; the one broken
app is caught, as a warning, because its own timing can hide the loss.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from harness.checks import CHECK_IDS
from harness.checks.ids import CLAIM_IDS
from harness.checks.ids import GUIDANCE_IDS
from target_apps.materialize import Corpus

pytestmark = pytest.mark.slow

STYLES = Path(__file__).resolve().parents[1] / "apps" / "styles"
STYLE_APPS = Corpus(STYLES, cache="posthog-verify-styles")

# Verdicts other than the default, per app (any of a set): every other guidance
# check must pass, and the claim checks skip (no baseline, setup report or plan).
NOT_PASSING: dict[str, dict[str, set[str]]] = {
    "flaskr_tutorial": {},
    "single_file_json": {},
    "src_layout_extension": {},
    "contexts_in_views": {},
    "prefixed_env": {},
    "correct_guarded_strict_signup": {},  # a login wall in front of every route
    "correct_dashboard_change_password": {},  # a password form that is not a login form
    "correct_account_blueprint": {},  # /account/create, /account/sign-in
    "correct_json_only_api": {},  # POST-only JSON /api/auth/register and /login, no forms
    "thread_capture": {},  # set/capture run in a thread the view starts
    "correct_bp_errorhandler": {},  # errors captured by a blueprint's 500 handler only
    "correct_groups_company": {},  # group_identify with organisation properties
    "correct_pageview_url_ip": {},  # $ip anonymised to 0.0.0.0 by the app
    "fi_options_before_send": {},  # Flask integration options; before_send drops $ip
    "json_redirect_fetch": {},  # forms posted by fetch(), JSON {"redirect": ...} answers
    # client.capture_exception() with no argument raises TypeError in the handler.
    "broken_ctx_instance_noarg": {"exception_captured": {"fail"}, "no_silent_drops": {"fail"}},
    "broken_explicit_ip_xff": {"no_pii_in_events": {"fail"}},  # $ip = X-Forwarded-For
    # Mounted under /notes by a DispatcherMiddleware: every path 404s, the
    # harness cannot drive it without a manifest, so nothing is judged.
    "correct_dispatcher_prefix": {check: {"error"} for check in GUIDANCE_IDS},
    "broken_thread_random_id": {
        "distinct_id_from_header": {"fail"},
        "session_id_from_header": {"fail"},
    },
    "broken_session_id_as_distinct_id": {
        "identify_on_signup": {"fail"},
        "identify_on_login": {"fail"},
    },
    # Nothing registered to flush at exit. Whether anything is still queued
    # when it stops depends on its 50 ms timer: lost (fail), or through the
    # SDK's own budget (warn). Never a pass.
    "broken_no_shutdown_fast_flush": {"flush_on_shutdown": {"warn", "fail"}},
}


_DEFAULT = {check: {"skip"} if check in CLAIM_IDS else {"pass"} for check in CHECK_IDS}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    out = tmp_path_factory.mktemp("styles") / "report.json"
    built = tmp_path_factory.mktemp("style-apps")  # near-copies are patches: build them
    for name in STYLE_APPS.names():
        STYLE_APPS.materialize(name, built)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--posthog-verify",
            f"--posthog-app={built / '*'}",
            f"--posthog-report={out}",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    return t.cast(dict[str, t.Any], json.loads(out.read_text()))


def test_every_style_app_is_listed() -> None:
    assert set(STYLE_APPS.names()) == set(NOT_PASSING)


@pytest.mark.parametrize("app", sorted(NOT_PASSING))
def test_style_verdicts(report: dict[str, t.Any], app: str) -> None:
    entry = next(a for a in report["apps"] if a["app"] == app)
    wrong = {
        c["id"]: c["status"]
        for c in entry["checks"]
        if c["status"] not in NOT_PASSING[app].get(c["id"], _DEFAULT[c["id"]])
    }
    assert wrong == {}, json.dumps(entry["checks"], indent=1)[:4000]
    assert {c["id"] for c in entry["checks"]} == set(CHECK_IDS)
