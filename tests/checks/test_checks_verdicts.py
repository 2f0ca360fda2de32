"""The rules of issue 10, both ways: every canary counts, the form's GET is
not the submission, flag traffic for personal data is an identity defect,
and the delivery and header messages say what really happened."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time

import pytest
from checks_runs import CANARIES
from checks_runs import EMAIL
from checks_runs import SPECS
from checks_runs import USER_ID
from checks_runs import Spec
from checks_runs import build
from checks_runs import edit
from checks_runs import good_run

from harness.capture.records import CapturedRequest
from harness.capture.records import RequestKind
from harness.checks import identify_on_login
from harness.checks import identify_on_signup
from harness.checks import no_pii_in_events
from harness.checks import no_silent_drops
from harness.checks import session_id_from_header
from harness.run import CLIENT_ADDRESS
from harness.run import Run
from harness.run import SourceLocation
from harness.verdict import Status

FLAG_UUID = "00000000-0000-4000-8000-000000000077"


def _with(**props: object) -> Run:
    return build(edit(SPECS, "note_created", properties={"length": 20, **props}))


@pytest.mark.parametrize(
    ("props", "kind", "path"),
    [
        pytest.param({"first": CANARIES.first_name}, "first name", "first", id="first-name"),
        pytest.param({"last": CANARIES.last_name}, "last name", "last", id="last-name"),
        pytest.param(
            {"greeting": f"Welcome back, {CANARIES.username.upper()}!"},
            "username",
            "greeting",
            id="username-inside-text-any-case",
        ),
        pytest.param({"client": CLIENT_ADDRESS}, "client address", "client", id="remote-addr"),
        pytest.param(
            {"company": "acme widgets k7q2"}, "typed value 1", "company", id="manifest-literal"
        ),
    ],
)
def test_every_value_the_scenario_typed_is_a_canary(props, kind: str, path: str) -> None:
    verdict = no_pii_in_events(_with(**props))
    assert verdict.status is Status.FAIL
    assert f"the {kind} canary in properties.{path}" in verdict.summary
    assert "«" in verdict.evidence[0]["value"]


@pytest.mark.parametrize(
    ("by_app", "status", "said"),
    [
        pytest.param(False, Status.WARN, "the request's IP in properties.$ip", id="integration"),
        pytest.param(True, Status.FAIL, "set by the app's own call", id="app-copies-remote-addr"),
    ],
)
def test_ip_of_the_client_address_is_told_apart_by_origin(
    by_app: bool, status: Status, said: str
) -> None:
    run = _with(**{"$ip": CLIENT_ADDRESS})
    if by_app:
        calls = tuple(
            dataclasses.replace(c, args={"properties": {"$ip": CLIENT_ADDRESS}})
            if c.event == "note_created"
            else c
            for c in run.capture_calls
        )
        run = dataclasses.replace(run, capture_calls=calls)
    verdict = no_pii_in_events(run)
    assert verdict.status is status
    assert said in verdict.summary
    assert verdict.evidence[0]["value"] == f"«{CLIENT_ADDRESS}»"
    if status is Status.WARN:
        assert "the client address canary under the harness" in verdict.evidence[0]["note"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("198.51.100.470", id="a-longer-number"),
        pytest.param("198.51.100.47.2", id="a-five-part-version"),
        pytest.param("10.198.51.100", id="digits-inside-another-address"),
    ],
)
def test_the_client_address_matches_only_standing_alone(value: str) -> None:
    assert no_pii_in_events(_with(note=value)).status is Status.PASS


def test_the_username_as_distinct_id_fails_both_identify_checks() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=CANARIES.username) if s.distinct_id == USER_ID else s
        for s in SPECS
    )
    for check in (identify_on_signup, identify_on_login):
        verdict = check(build(specs))
        assert verdict.status is Status.FAIL
        assert f"by the username canary: distinct id {CANARIES.username!r}" in verdict.summary


def _form_view(uuid: int, step: int) -> Spec:
    return Spec(
        f"00000000-0000-4000-8000-0000000001{uuid:02d}",
        "form_viewed",
        step,
        "anonymous",
        {"form": "signup" if step == 1 else "login"},
    )


def test_an_anonymous_event_of_the_forms_get_is_not_the_identification() -> None:
    """GET /signup and GET /login capture as 'anonymous'; the POSTs identify."""
    run = build((*SPECS, _form_view(1, 1), _form_view(2, 6)))
    for check, kind in ((identify_on_signup, "signup"), (identify_on_login, "login")):
        verdict = check(run)
        assert verdict.status is Status.PASS, verdict.summary
        assert f"{kind} identified the user as 'user_42'" in verdict.summary


def test_the_submission_itself_identifying_as_anonymous_still_fails() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id="anonymous", set=None, method="capture")
        if s.step == 2
        else s
        for s in SPECS
    )
    verdict = identify_on_signup(build(specs))
    assert verdict.status is Status.FAIL
    assert "'anonymous'" in json.dumps(verdict.evidence)


def _flags_request(seq: int, distinct_id: str, *, zipped: bool = False) -> CapturedRequest:
    body = json.dumps({"distinct_id": distinct_id, "api_key": "phc_x"}).encode()
    return CapturedRequest(
        seq=seq,
        method="POST",
        scheme="http",
        host="127.0.0.1:50123",
        path="/flags/",
        query="v=4",
        headers={},
        body=gzip.compress(body) if zipped else body,
        status=200,
        kind=RequestKind.FLAGS,
        received_at=time.time(),
    )


def _flag_run(distinct_id: str, *, event_at_signup: bool = True) -> Run:
    """A flag evaluated at signup and login for ``distinct_id``: the SDK sends
    ``$feature_flag_called`` once (its dedupe), ``/flags`` both times."""
    flag = Spec(FLAG_UUID, "$feature_flag_called", 2, distinct_id, {"$feature_flag": "new-ui"})
    run = build((*SPECS, flag) if event_at_signup else SPECS)
    site = SourceLocation("app/analytics.py", 63)
    calls = tuple(
        dataclasses.replace(c, location=site) if c.uuid == FLAG_UUID else c
        for c in run.capture_calls
    )
    flags = (_flags_request(10, distinct_id), _flags_request(11, distinct_id, zipped=True))
    return dataclasses.replace(run, capture_calls=calls, requests=(*run.requests, *flags))


@pytest.mark.parametrize("check", [identify_on_signup, identify_on_login], ids=lambda f: f.__name__)
def test_flags_evaluated_for_the_email_fail_signup_and_login_alike(check) -> None:
    verdict = check(_flag_run(EMAIL))
    assert verdict.status is Status.FAIL
    assert "feature flags were evaluated for the email canary" in verdict.summary
    flagged = [e for e in verdict.evidence if e.get("distinct_id") == EMAIL]
    assert {e["location"] for e in flagged} == {"app/analytics.py:63"}
    assert sum("request_to_mock" in e for e in flagged) == 2


def test_flags_for_the_email_fail_even_when_the_sdk_sent_no_event() -> None:
    verdict = identify_on_login(_flag_run(EMAIL, event_at_signup=False))
    assert verdict.status is Status.FAIL
    assert "/flags" in json.dumps(verdict.evidence)


@pytest.mark.parametrize("check", [identify_on_signup, identify_on_login], ids=lambda f: f.__name__)
def test_flags_evaluated_for_the_users_id_pass(check) -> None:
    assert check(_flag_run(USER_ID)).status is Status.PASS


def test_events_the_sdk_made_itself_are_not_calls_the_app_made() -> None:
    run = _flag_run(USER_ID)
    lost = tuple(e for e in run.events if e.uuid != FLAG_UUID)
    verdict = no_silent_drops(dataclasses.replace(run, events=lost))
    assert verdict.status is Status.PASS
    assert verdict.summary == "all 11 calls reached the mock"


def test_a_dropped_call_of_the_app_still_fails_beside_sdk_events() -> None:
    run = _flag_run(USER_ID)
    lost = tuple(e for e in run.events if e.event != "note_created")
    verdict = no_silent_drops(dataclasses.replace(run, events=lost))
    assert verdict.status is Status.FAIL
    assert verdict.summary.startswith("1 of 11 calls produced nothing at the mock")


def _only_sdk_events_in_header_requests() -> Run:
    person = Spec(FLAG_UUID, "$set", 3, USER_ID, {}, set={"plan": "pro"}, method="set")
    run = build((person,))
    bare = tuple(
        dataclasses.replace(e, properties={k: v for k, v in e.properties.items() if k[0] != "$"})
        for e in run.events
    )
    return dataclasses.replace(run, events=bare)


def test_session_message_says_only_sdk_events_were_seen_when_so() -> None:
    verdict = session_id_from_header(_only_sdk_events_in_header_requests())
    assert verdict.status is Status.FAIL
    assert verdict.summary == (
        "only the SDK's own events (1 event: $set), which need not carry $session_id, were "
        "produced during requests carrying X-POSTHOG-SESSION-ID: no event of the app's to judge"
    )


def test_session_message_says_events_arrived_outside_any_request_when_so() -> None:
    background = tuple(dataclasses.replace(s, step=None) for s in SPECS)
    verdict = session_id_from_header(build(background))
    assert verdict.status is Status.FAIL
    assert verdict.summary == (
        "no event was attributed to a request carrying X-POSTHOG-SESSION-ID: "
        "11 events arrived outside any request (made at boot or by a background thread)"
    )


def test_session_message_says_no_event_only_when_there_was_none() -> None:
    verdict = session_id_from_header(good_run(events=(), requests=()))
    assert verdict.summary == (
        "no event was produced during any request carrying X-POSTHOG-SESSION-ID"
    )
