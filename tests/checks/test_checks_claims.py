"""setup_report_matches and tracking_plan_holds, each both ways, evidence asserted."""

from __future__ import annotations

import dataclasses
import typing as t

import pytest
from checks_runs import SPECS
from checks_runs import build
from checks_runs import edit

from harness.checks import run_checks
from harness.checks import setup_report_matches
from harness.checks import tracking_plan_holds
from harness.checks.claims import matches_type
from harness.run import BootFailure
from harness.run import ClaimedEvent
from harness.run import Phase
from harness.run import PlannedEvent
from harness.run import PlannedProperty
from harness.run import Run
from harness.run import SetupReport
from harness.run import SourceLocation
from harness.verdict import Status

REPORT = "posthog-setup-report.md"
# What the reference run (checks_runs.SPECS) sends, as a report would list it.
HONEST = (
    ("page_viewed", "app/pages.py"),
    ("user_signed_up", "POST /signup"),
    ("dashboard_viewed", "/dashboard"),
    ("note_created", "POST /api/notes"),
    ("user_logged_out", "/logout"),
    ("user_logged_in", "POST /login"),
)


def claim(name: str, where: str = "", line: int = 1, routes: tuple[str, ...] = ()) -> ClaimedEvent:
    text = f"| `{name}` | {where} |"
    return ClaimedEvent(name, SourceLocation(REPORT, line, text), where, routes)


def with_report(*claims: ClaimedEvent, notes: tuple[str, ...] = (), **overrides: t.Any) -> Run:
    report = SetupReport(files=(REPORT,), events=claims, notes=notes)
    return build(setup_report=report, **overrides)


def honest() -> list[ClaimedEvent]:
    routes = {"POST /signup": ("/signup",), "/dashboard": ("/dashboard",)}
    routes |= {"POST /api/notes": ("/api/notes",), "/logout": ("/logout",)}
    routes |= {"POST /login": ("/login",)}
    return [claim(n, w, i, routes.get(w, ())) for i, (n, w) in enumerate(HONEST, start=7)]


# -- setup_report_matches -------------------------------------------------------


def test_no_report_skips() -> None:
    got = setup_report_matches(build())
    assert got.status is Status.SKIP
    assert got.summary.startswith("no setup report (posthog-setup-report.md")


def test_an_honest_report_passes() -> None:
    got = setup_report_matches(with_report(*honest()))
    assert got.status is Status.PASS, got
    assert got.summary == "the 6 claimed events of posthog-setup-report.md were sent"


def test_sdk_events_may_be_listed_or_not() -> None:
    got = setup_report_matches(with_report(*honest(), claim("$exception", "errors")))
    assert got.status is Status.PASS, got


def test_a_claim_never_sent_while_its_route_ran_fails_with_the_claim_quoted() -> None:
    claims = [*honest(), claim("user_upgraded", "POST /signup", 20, ("/signup",))]
    got = setup_report_matches(with_report(*claims))
    assert got.status is Status.FAIL
    assert got.summary == (
        "1 claimed event never sent though the flow it names ran: 'user_upgraded' "
        "(posthog-setup-report.md)"
    )
    item = got.evidence[0]
    assert item["event"] == "user_upgraded"
    assert item["location"] == "posthog-setup-report.md:20"
    assert item["claimed"] == "| `user_upgraded` | POST /signup |"
    assert item["request"] == "POST /signup (step 2: signup)"
    assert item["sent_during_that_step"] == ["$set", "user_signed_up"]


def test_a_claim_whose_name_names_a_flow_is_judged_by_that_flow() -> None:
    # No route on the line, but "signed up" names the signup the harness drove.
    specs = tuple(s for s in SPECS if s.event != "user_signed_up")
    claims = [c for c in honest() if c.name != "user_signed_up"]
    claims.append(claim("user_signed_up", "app/auth.py", 9))
    got = setup_report_matches(with_report(*claims, specs=specs))
    assert got.status is Status.FAIL
    assert got.evidence[0]["event"] == "user_signed_up"
    assert got.evidence[0]["sent_during_that_step"] == ["$set"]
    assert got.evidence[0]["request"] == "POST /signup (step 2: signup)"


def test_a_misspelt_claim_says_which_sent_event_it_may_mean() -> None:
    claims = [c for c in honest() if c.name != "user_logged_in"]
    claims.append(claim("user_loged_in", "POST /login", 30, ("/login",)))
    got = setup_report_matches(with_report(*claims))
    assert got.status is Status.FAIL
    assert got.evidence[0]["note"] == "claimed, never sent (did you mean 'user_logged_in'?)"
    unlisted = got.evidence[1]
    assert unlisted["event"] == "user_logged_in"
    assert unlisted["location"] == "app.py:102"


def test_a_claim_of_a_flow_the_harness_does_not_drive_is_not_exercised() -> None:
    claims = [*honest(), claim("checkout_completed", "app/billing.py: the payment flow", 40)]
    got = setup_report_matches(with_report(*claims))
    assert got.status is Status.PASS
    assert got.summary.endswith("; 1 not exercised (a flow the harness does not drive)")
    assert got.evidence[0]["note"].startswith("not exercised: the claim names no route or flow")
    routed = [*honest(), claim("plan_paid", "POST /billing", 41, ("/billing",))]
    got = setup_report_matches(with_report(*routed))
    assert got.status is Status.PASS
    assert "the claim names /billing, which this run did not drive" in got.evidence[0]["note"]


def test_an_event_sent_but_not_listed_warns_with_its_call_quoted() -> None:
    claims = [c for c in honest() if c.name != "note_created"]
    got = setup_report_matches(with_report(*claims))
    assert got.status is Status.WARN
    assert got.summary == (
        "1 event sent but not in the setup report: 'note_created' (posthog-setup-report.md)"
    )
    item = got.evidence[0]
    assert item["event"] == "note_created"
    assert item["request"] == "POST /api/notes (step 4: api_action)"
    assert item["location"] == "app.py:80"
    assert item["note"] == "sent, but posthog-setup-report.md does not list it"


def test_an_event_only_queued_still_counts_as_sent() -> None:
    specs = edit(SPECS, "note_created", arrives=False)
    got = setup_report_matches(with_report(*honest(), specs=specs))
    assert got.status is Status.PASS, got


def test_an_unreadable_report_is_an_error_with_its_notes() -> None:
    got = setup_report_matches(with_report(notes=(f"{REPORT}: not UTF-8 text, not read",)))
    assert got.status is Status.ERROR
    assert (
        got.summary
        == "the setup report (posthog-setup-report.md) names no event that could be read"
    )
    assert got.evidence[0]["note"] == "posthog-setup-report.md: not UTF-8 text, not read"


def test_nothing_comparable_skips() -> None:
    got = setup_report_matches(with_report(claim("checkout_completed", "payments")))
    # Every sent event is unlisted: that is a warning, not a skip.
    assert got.status is Status.WARN
    run = with_report(claim("checkout_completed", "payments"), specs=())
    got = setup_report_matches(run)
    assert got.status is Status.SKIP
    assert got.summary.startswith("no claimed event could be compared")


# -- tracking_plan_holds --------------------------------------------------------


def plan(*events: PlannedEvent, **overrides: t.Any) -> Run:
    return build(tracking_plan=events, **overrides)


SIGNUP = PlannedEvent(
    "user_signed_up",
    "signup",
    {"plan": PlannedProperty(("string",), ("free", "pro"))},
    ("plan",),
)
NOTE = PlannedEvent("note_created", "api", {"length": PlannedProperty(("integer",))}, ("length",))


def test_no_plan_skips() -> None:
    got = tracking_plan_holds(build())
    assert got.status is Status.SKIP
    assert got.summary == "no tracking plan: the manifest has no [[events]]"


def test_a_plan_that_holds_passes() -> None:
    got = tracking_plan_holds(plan(SIGNUP, NOTE))
    assert got.status is Status.PASS, got
    assert got.summary == "2 planned events sent during their step with the planned properties"


def test_a_property_of_the_wrong_type_fails_quoting_expected_and_seen() -> None:
    specs = edit(SPECS, "note_created", properties={"length": "20"})
    got = tracking_plan_holds(plan(SIGNUP, NOTE, specs=specs))
    assert got.status is Status.FAIL
    assert got.summary == "the tracking plan does not hold for 'note_created'"
    item = got.evidence[0]
    assert (item["property"], item["expected"], item["seen"]) == (
        "length",
        "integer",
        "string '20'",
    )
    assert (item["step"], item["request"]) == ("api_action", "POST /api/notes (step 4: api_action)")


def test_a_missing_required_property_and_an_enum_miss_fail() -> None:
    specs = edit(SPECS, "user_signed_up", properties={"plan": "gold"})
    specs = edit(specs, "note_created", properties={})
    got = tracking_plan_holds(plan(SIGNUP, NOTE, specs=specs))
    assert got.status is Status.FAIL
    seen = {(i["event"], i["property"], i["expected"], i["seen"]) for i in got.evidence}
    assert seen == {
        ("user_signed_up", "plan", "one of ['free', 'pro']", "'gold'"),
        ("note_created", "length", "present (required)", "missing"),
    }


def test_an_event_sent_in_another_step_fails_naming_where_it_went() -> None:
    moved = dataclasses.replace(SIGNUP, step="login")
    got = tracking_plan_holds(plan(moved))
    assert got.status is Status.FAIL
    item = got.evidence[0]
    assert item["note"] == "planned during 'login', not sent then; sent during signup instead"
    assert item["sent_during_that_step"] == ["$set", "user_logged_in"]


def test_a_step_the_run_skipped_is_not_exercised() -> None:
    run = plan(NOTE, dataclasses.replace(SIGNUP, step="checkout"))
    run = dataclasses.replace(run, steps_skipped={"checkout": "the app has no checkout route"})
    got = tracking_plan_holds(run)
    assert got.status is Status.PASS
    assert got.summary.endswith("; 1 not exercised")
    assert "the app has no checkout route" in got.evidence[0]["note"]


def test_an_unknown_step_is_an_error_naming_the_steps() -> None:
    got = tracking_plan_holds(plan(dataclasses.replace(SIGNUP, step="sigup")))
    assert got.status is Status.ERROR
    assert "no step named or of kind 'sigup' ran" in got.evidence[0]["note"]
    assert got.evidence[0]["note"].endswith("(did you mean 'signup'?)")


@pytest.mark.parametrize(
    ("value", "name", "ok"),
    [
        (1, "integer", True),
        (1.0, "integer", True),
        (1.5, "integer", False),
        (1, "number", True),
        (True, "integer", False),
        (True, "boolean", True),
        (None, "null", True),
        ([], "array", True),
        ({}, "object", True),
        ("1", "number", False),
    ],
)
def test_json_schema_types(value: t.Any, name: str, ok: bool) -> None:
    assert matches_type(value, name) is ok


def test_a_flow_named_only_in_the_description_is_not_exercised() -> None:
    described = claim("plan_upgraded", "A user who signed up moves to a paid plan", 50)
    got = setup_report_matches(with_report(*honest(), described))
    assert got.status is Status.PASS
    assert got.evidence[0]["event"] == "plan_upgraded"
    assert got.evidence[0]["note"].startswith("not exercised")


# -- with the shared rules --------------------------------------------------------


def test_nothing_to_hold_the_app_to_skips_even_when_it_did_not_boot() -> None:
    failure = BootFailure(Phase.IMPORT, "NameError: name 'Posthgo' is not defined", True)
    verdicts = {r.check_id: r for r in run_checks(build(boot_failure=failure))}
    assert verdicts["setup_report_matches"].status is Status.SKIP
    assert verdicts["setup_report_matches"].summary.startswith("no setup report")
    assert verdicts["tracking_plan_holds"].status is Status.SKIP
    assert verdicts["no_pii_in_events"].status is Status.ERROR


def test_a_report_or_plan_of_an_app_that_did_not_boot_is_not_judged() -> None:
    failure = BootFailure(Phase.IMPORT, "NameError: name 'Posthgo' is not defined", True)
    run = with_report(*honest(), boot_failure=failure, tracking_plan=(SIGNUP,))
    verdicts = {r.check_id: r for r in run_checks(run)}
    for check in ("setup_report_matches", "tracking_plan_holds"):
        assert verdicts[check].status is Status.ERROR
        assert verdicts[check].summary == "not judged: the app did not boot"


def test_an_app_that_was_not_found_has_unknown_claims_not_absent_ones() -> None:
    failure = BootFailure(Phase.DISCOVER, "No Flask app found in empty.")
    verdicts = {r.check_id: r for r in run_checks(build(boot_failure=failure))}
    assert verdicts["setup_report_matches"].status is Status.ERROR
    assert verdicts["tracking_plan_holds"].status is Status.ERROR
