"""identify_on_signup, identify_on_login, distinct_id_from_header,
session_id_from_header: both ways, with evidence."""

from __future__ import annotations

import dataclasses

import pytest
from checks_runs import ANON
from checks_runs import EMAIL
from checks_runs import SESSION
from checks_runs import SPECS
from checks_runs import USER_ID
from checks_runs import Spec
from checks_runs import build
from checks_runs import edit
from checks_runs import edit_uuid
from checks_runs import exchanges
from checks_runs import good_run

from harness.checks import distinct_id_from_header
from harness.checks import identify_on_login
from harness.checks import identify_on_signup
from harness.checks import session_id_from_header
from harness.verdict import Status


@pytest.mark.parametrize(
    "check",
    [identify_on_signup, identify_on_login, distinct_id_from_header, session_id_from_header],
    ids=lambda f: f.__name__,
)
def test_good_run_passes(check) -> None:
    assert check(good_run()).status is Status.PASS


def test_signup_pass_names_the_id() -> None:
    assert "as 'user_42', with person properties" in identify_on_signup(good_run()).summary


def test_signup_fails_without_identification() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=ANON, set=None, method="capture")
        if s.step in (2, 3, 4)
        else s
        for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert verdict.summary.startswith("no event identified the user after signup")
    assert {e["distinct_id"] for e in verdict.evidence} == {ANON}


def test_signup_fails_on_the_email_as_distinct_id() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=EMAIL.lower()) if s.distinct_id == USER_ID else s
        for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert "by the email canary" in verdict.summary
    assert verdict.evidence[0]["distinct_id"] == EMAIL.lower()


def test_signup_fails_on_the_anonymous_id() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=ANON) if s.distinct_id == USER_ID else s for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert "anonymous header id 'anon-k7q2-0001'" in verdict.summary


def test_signup_fails_on_a_fresh_random_id_per_request_quoting_two_ids() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=f"rand-{s.uuid[-4:]}") if s.distinct_id == USER_ID else s
        for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    ids = {e["distinct_id"] for e in verdict.evidence}
    assert {"rand-0002", "rand-0004"} <= ids
    assert "carry another distinct id" in verdict.summary


@pytest.mark.parametrize("check", [identify_on_signup, identify_on_login])
def test_one_fixed_id_for_visitors_and_users_fails_quoting_the_earlier_event(check) -> None:
    # A worker thread (or a server-side default) sends every event as one id:
    # the anonymous visit before the signup carries the id the user "got".
    specs = tuple(
        dataclasses.replace(s, distinct_id="analytics-worker")
        if s.distinct_id in (USER_ID, ANON)
        else s
        for s in SPECS
    )
    verdict = check(build(specs))
    assert verdict.status is Status.FAIL
    assert "before anyone signed up or logged in carry that id too" in verdict.summary
    earlier = verdict.evidence[1]
    assert earlier["distinct_id"] == "analytics-worker"
    assert earlier["request"].startswith("GET / ")
    assert "before the user existed" in earlier["note"]


def test_visitor_events_with_their_own_id_do_not_share_the_users() -> None:
    assert identify_on_signup(good_run()).status is Status.PASS
    before = [e for e in good_run().events if e.distinct_id == ANON]
    assert before  # the good run's visitor events exist and carry the header id


def test_signup_fails_on_personless_later_events() -> None:
    run = build(
        edit(SPECS, "dashboard_viewed", properties={"notes": 0, "$process_person_profile": False})
    )
    verdict = identify_on_signup(run)
    assert verdict.status is Status.FAIL
    assert "personless" in verdict.summary
    item = verdict.evidence[1]
    assert (item["path"], item["value"]) == ("properties.$process_person_profile", False)


def test_signup_fails_without_person_properties() -> None:
    specs = tuple(s for s in SPECS if s.event != "$set")
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert verdict.summary == "no person properties ($set/$set_once) were sent for 'user_42'"
    assert verdict.evidence[0]["event"] == "user_signed_up"


def test_signup_skips_when_the_app_has_no_signup_route() -> None:
    kept = tuple(x for x in exchanges() if x.kind != "signup")
    run = good_run(exchanges=kept, steps_skipped={"signup": "no route matches /signup"})
    verdict = identify_on_signup(run)
    assert (verdict.status, verdict.summary) == (Status.SKIP, "no route matches /signup")


def test_login_fails_when_it_identifies_another_id_than_signup() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id="user_42_login")
        if s.step in (7, 8) and s.distinct_id == USER_ID
        else s
        for s in SPECS
    )
    run = build(specs, exchanges=exchanges())
    run = dataclasses.replace(
        run,
        exchanges=tuple(
            dataclasses.replace(x, distinct_id_header="user_42_login") if x.index == 8 else x
            for x in run.exchanges
        ),
    )
    verdict = identify_on_login(run)
    assert verdict.status is Status.FAIL
    assert verdict.summary == "login identified the user as 'user_42_login', signup as 'user_42'"
    assert [e["note"] for e in verdict.evidence] == ["at signup", "at login"]


def test_login_fails_when_only_later_requests_carry_the_user_id() -> None:
    """The login request itself goes to the anonymous id; the dashboard after it
    carries the user id only because the session says so: not identified at login."""
    specs = tuple(
        dataclasses.replace(s, distinct_id=ANON, set=None, method="capture") if s.step == 7 else s
        for s in SPECS
    )
    verdict = identify_on_login(build(specs))
    assert verdict.status is Status.FAIL
    assert verdict.summary.startswith("no event identified the user after login")
    assert {e["distinct_id"] for e in verdict.evidence if e.get("event") == "user_logged_in"} == {
        ANON
    }


def test_login_skips_without_a_login_route() -> None:
    kept = tuple(x for x in exchanges() if x.kind != "login")
    assert identify_on_login(good_run(exchanges=kept)).status is Status.SKIP


def test_distinct_id_from_header_fails_quoting_header_and_id() -> None:
    verdict = distinct_id_from_header(build(edit(SPECS, "page_viewed", distinct_id="server")))
    assert verdict.status is Status.FAIL
    assert "2 of 3 events" in verdict.summary
    item = verdict.evidence[0]
    assert (item["header"], item["distinct_id"], item["event"]) == (ANON, "server", "page_viewed")


def test_distinct_id_from_header_fails_without_anonymous_events() -> None:
    specs = tuple(s for s in SPECS if s.distinct_id != ANON)
    verdict = distinct_id_from_header(build(specs))
    assert verdict.status is Status.FAIL
    assert "no event was produced" in verdict.summary


def test_session_id_from_header_fails_on_a_missing_session() -> None:
    run = good_run()
    stripped = dataclasses.replace(
        run.events[0],
        properties={k: v for k, v in run.events[0].properties.items() if k != "$session_id"},
    )
    verdict = session_id_from_header(dataclasses.replace(run, events=(stripped, *run.events[1:])))
    assert verdict.status is Status.FAIL
    item = verdict.evidence[0]
    assert (item["path"], item["value"], item["header"]) == (
        "properties.$session_id",
        "(missing)",
        SESSION,
    )


def test_session_id_from_header_fails_on_another_session() -> None:
    run = build(edit_uuid(SPECS, SPECS[3].uuid, properties={"$session_id": "server-session"}))
    verdict = session_id_from_header(run)
    assert verdict.status is Status.FAIL
    assert "'server-session'" in verdict.summary


def test_signup_fails_on_the_session_id_as_distinct_id() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=SESSION) if s.distinct_id == USER_ID else s
        for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert "X-POSTHOG-SESSION-ID value" in verdict.summary
    assert SESSION in verdict.summary


def test_a_flag_evaluation_event_without_session_does_not_fail_the_session_check() -> None:
    flag = Spec(
        "00000000-0000-4000-8000-000000000099",
        "$feature_flag_called",
        0,
        ANON,
        {"$feature_flag": "new-ui", "$feature_flag_response": False},
    )
    run = build((*SPECS, flag))
    event = next(e for e in run.events if e.event == "$feature_flag_called")
    bare = dataclasses.replace(
        event, properties={k: v for k, v in event.properties.items() if k != "$session_id"}
    )
    run = dataclasses.replace(run, events=tuple(bare if e is event else e for e in run.events))
    assert session_id_from_header(run).status is Status.PASS


def test_a_group_update_with_a_random_distinct_id_is_not_the_users_event() -> None:
    group = Spec(
        "00000000-0000-4000-8000-000000000098",
        "$groupidentify",
        2,
        "6f1c4a52-9a4e-4b8e-8f7e-2a1d3c4b5e6f",
        {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}},
        method="group_identify",
    )
    assert identify_on_signup(build((*SPECS, group))).status is Status.PASS


def _with_stale_hop(hop_id: str):
    """Exchange 3 as the page the signup redirected to, loaded as the user with
    the visitor's stale header; its event carries ``hop_id``."""
    hopped = tuple(
        dataclasses.replace(x, step="signup", kind="signup", redirect_of=2, distinct_id_header=ANON)
        if x.index == 3
        else x
        for x in exchanges()
    )
    return build(edit(SPECS, "dashboard_viewed", distinct_id=hop_id), exchanges=hopped)


def test_an_app_that_follows_a_stale_header_over_the_user_fails_at_signup() -> None:
    verdict = identify_on_signup(_with_stale_hop(ANON))
    assert verdict.status is Status.FAIL
    assert f"carry another distinct id ({ANON})" in verdict.summary
    item = verdict.evidence[1]
    assert item["request"].startswith("GET /dashboard")
    assert "stale anonymous header still follows the header" in item["note"]


def test_the_users_id_on_the_page_after_signup_passes_whatever_the_header() -> None:
    assert identify_on_signup(_with_stale_hop(USER_ID)).status is Status.PASS
