"""no_pii_in_events: canaries anywhere (encoded, nested), other PII precisely."""

from __future__ import annotations

import dataclasses
import json
import typing as t
import urllib.parse

import pytest
from checks_runs import CANARIES
from checks_runs import EMAIL
from checks_runs import SPECS
from checks_runs import build
from checks_runs import edit
from checks_runs import good_run

from harness.checks import no_pii_in_events
from harness.checks._detect import canary_needles
from harness.checks._detect import find_canary
from harness.checks._detect import find_fragment
from harness.checks._detect import find_other
from harness.checks._detect import fragment_needles
from harness.scenario.canary import make_canaries
from harness.scenario.canary import typed_values
from harness.verdict import Status


def _with(**props: t.Any):
    return build(edit(SPECS, "note_created", properties={"length": 20, **props}))


def test_good_run_passes_and_person_properties_are_exempt() -> None:
    run = good_run()
    assert any(e.set and EMAIL in e.set.values() for e in run.events)
    assert no_pii_in_events(run).status is Status.PASS


@pytest.mark.parametrize(
    ("props", "path", "shown"),
    [
        pytest.param({"email": EMAIL}, "properties.email", EMAIL, id="email-plain"),
        pytest.param({"email": EMAIL.upper()}, "properties.email", EMAIL.upper(), id="email-case"),
        pytest.param(
            {"$current_url": "http://h/x?e=" + urllib.parse.quote(EMAIL, safe="")},
            "properties.$current_url",
            "ada.canary.k7q2%40example.org",
            id="email-in-query-string",
        ),
        pytest.param(
            {"q": urllib.parse.quote_plus(CANARIES.name)},
            "properties.q",
            "Zelda+Quuxbridge+K7q2",
            id="name-quote-plus",
        ),
        pytest.param(
            {"user": {"contacts": ["x", {"tel": CANARIES.phone}]}},
            "properties.user.contacts[1].tel",
            CANARIES.phone,
            id="phone-nested",
        ),
        pytest.param({"body": CANARIES.text}, "properties.body", CANARIES.text, id="text"),
        pytest.param({"client_ip": CANARIES.ip}, "properties.client_ip", CANARIES.ip, id="ip"),
        pytest.param({"pw": CANARIES.password}, "properties.pw", CANARIES.password, id="password"),
        pytest.param({"tel": "12025550147"}, "properties.tel", "12025550147", id="phone-digits"),
    ],
)
def test_a_canary_in_properties_fails_naming_path_and_value(props, path, shown) -> None:
    verdict = no_pii_in_events(_with(**props))
    assert verdict.status is Status.FAIL
    assert verdict.summary.startswith("1 of 11 events carry personal data")
    item = verdict.evidence[0]
    assert (item["event"], item["path"]) == ("note_created", path)
    assert shown.lower() in item["value"].lower()
    assert "«" in item["value"]
    assert item["request"] == "POST /api/notes (step 4: api_action)"


def test_a_canary_in_every_event_is_counted_per_event() -> None:
    specs = tuple(edit(SPECS, "dashboard_viewed", properties={"email": EMAIL}))
    verdict = no_pii_in_events(build(specs))
    assert (
        verdict.summary
        == "2 of 11 events carry personal data: the email canary in properties.email"
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param("someone.else@corp.example.com", "email address", id="other-email"),
        pytest.param("seen from 8.8.4.4", "public IP", id="public-ipv4-in-text"),
        pytest.param("2001:4860:4860::8888", "public IP", id="public-ipv6"),
        pytest.param("+44 20 7946 0958", "phone number", id="phone-intl"),
        pytest.param("(555) 123-4567", "phone number", id="phone-parens"),
    ],
)
def test_other_personal_data_fails(value: str, kind: str) -> None:
    verdict = no_pii_in_events(_with(note=value))
    assert verdict.status is Status.FAIL
    assert f" {kind} in properties.note" in verdict.summary


@pytest.mark.parametrize(
    "key", ["ip", "client_ip", "remote_addr", "x_forwarded_for", "userIp", "shared_from_ip"]
)
def test_a_bare_public_ip_under_an_address_name_fails(key: str) -> None:
    verdict = no_pii_in_events(_with(**{key: "8.8.4.4"}))
    assert verdict.status is Status.FAIL
    assert f"a public IP in properties.{key}" in verdict.summary


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("ts", "1714557600", id="epoch-seconds"),
        pytest.param("ts_ms", "1714557600123", id="epoch-millis"),
        pytest.param("when", "2024-05-01T10:00:00+00:00", id="iso-datetime"),
        pytest.param("day", "2024-05-01", id="iso-date"),
        pytest.param("id", "123e4567-e89b-12d3-a456-426614174000", id="uuid"),
        pytest.param("app_version", "1.2.3.4", id="ip-shaped-version"),
        pytest.param("$lib_version", "1.2.3.4", id="sdk-version"),
        pytest.param("private_ip", "10.1.2.3", id="private-ip"),
        pytest.param("loopback", "127.0.0.1", id="loopback"),
        pytest.param("asset", "logo@2x.png", id="retina-file"),
        pytest.param("amount", "10 000 000", id="thousands"),
        pytest.param("price", "1234.5678", id="decimal"),
        pytest.param("clock", "10:00:00", id="time"),
        pytest.param("build", "4.2.0.17", id="four-part-build-number"),
        pytest.param("release", "2.4.1.8", id="four-part-release"),
        pytest.param("note", "build 4.2.0.17 deployed", id="build-number-in-text"),
        pytest.param("screen", "1920 1080 24", id="screen-size"),
        pytest.param("repo", "git@github.com:org/repo.git", id="scp-remote"),
        pytest.param("message_id", "<1718000000.123@mail.example.com>", id="message-id"),
    ],
)
def test_look_alikes_are_not_personal_data(key: str, value: str) -> None:
    verdict = no_pii_in_events(_with(**{key: value}))
    assert verdict.status is Status.PASS, verdict.evidence


def test_a_canary_only_inside_the_exception_warns() -> None:
    exception = {
        "$exception_list": [
            {"type": "ValueError", "value": f"bad signup for {EMAIL}", "stacktrace": {}}
        ]
    }
    verdict = no_pii_in_events(build(edit(SPECS, "$exception", properties=exception)))
    assert verdict.status is Status.WARN
    item = verdict.evidence[0]
    assert item["path"] == "properties.$exception_list[0].value"
    assert "exception" in item["note"]


def test_a_canary_used_as_a_property_key_fails() -> None:
    verdict = no_pii_in_events(_with(by_user={EMAIL: 1}))
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["path"] == f"properties.by_user.{EMAIL}{{key}}"


def test_a_fail_outranks_a_warning_and_is_quoted_first() -> None:
    verdict = no_pii_in_events(_with(**{"$ip": "127.0.0.1", "email": EMAIL}))
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["path"] == "properties.email"


def test_skips_when_no_event_was_captured() -> None:
    assert no_pii_in_events(good_run(events=())).status is Status.SKIP


def test_evidence_is_capped_with_a_count_of_the_rest() -> None:
    many = {f"k{i}": EMAIL for i in range(30)}
    verdict = no_pii_in_events(_with(**many))
    assert len(verdict.evidence) == 21
    assert verdict.evidence[-1] == {"note": "and 10 more not shown"}


@pytest.mark.parametrize(
    "text",
    ["v2.10.3", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.6099.109", "order 1700000000.123"],
)
def test_detector_ignores_versions_and_timestamps(text: str) -> None:
    assert find_other(text) is None


def test_a_canary_in_an_event_name_fails() -> None:
    named = tuple(
        dataclasses.replace(s, event=f"signed up {EMAIL}") if s.event == "user_signed_up" else s
        for s in SPECS
    )
    verdict = no_pii_in_events(build(named))
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["path"] == "event"
    assert "the email canary" in verdict.evidence[0]["note"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("order_number", "100-234-5678", id="us-shaped-order-number"),
        pytest.param("ref", "#100-234-5678", id="hash-order-number"),
        pytest.param("url", "/checkout/step-2?cart=123-456-7890", id="cart-id-in-url"),
        pytest.param("po", "PO 2024 0501 0001", id="year-leading-id"),
        pytest.param("ticket", "ticket 2024-0501-0001", id="year-leading-ticket"),
        pytest.param("tracking", "1Z 999 AA1 01 2345 6784", id="ups-tracking"),
        pytest.param("order", "Order 1234 5678 9012", id="four-digit-chunks"),
        pytest.param("payload", '{"version":"1.2.3.4","ok":true}', id="version-in-json"),
        pytest.param("handler", "views.home@blueprint.main", id="code-path"),
        pytest.param("sender", "noreply@mail.internal", id="internal-domain"),
    ],
)
def test_more_look_alikes_found_by_running_the_detectors(key: str, value: str) -> None:
    assert find_other(value, key=f"properties.{key}") is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("+14155552671", id="e164"),
        pytest.param("tel:+14155552671", id="tel-uri"),
        pytest.param("+49 30 123456789", id="long-groups"),
        pytest.param("call me on +44 7700 900123 tomorrow", id="in-text"),
        pytest.param("415-555-2671", id="us-dashed"),
    ],
)
def test_phone_numbers_with_a_country_code_or_a_us_shape_are_found(value: str) -> None:
    found = find_other(value, key="properties.note")
    assert found is not None
    assert found[0] == "phone number"


def _app_passed_ip(run: t.Any, value: str) -> t.Any:
    """The note_created call passed $ip in its own properties."""
    calls = tuple(
        dataclasses.replace(c, args={**c.args, "properties": {"$ip": value}})
        if c.event == "note_created"
        else c
        for c in run.capture_calls
    )
    return dataclasses.replace(run, capture_calls=calls)


@pytest.mark.parametrize(
    ("value", "by_app", "status"),
    [
        pytest.param(CANARIES.ip, False, Status.WARN, id="integration-adds-the-request-ip"),
        pytest.param("127.0.0.1", False, Status.WARN, id="integration-ip-under-the-harness"),
        pytest.param(CANARIES.ip, True, Status.FAIL, id="app-puts-the-client-ip-in-ip"),
        pytest.param("127.0.0.1", True, Status.FAIL, id="app-puts-remote-addr-in-ip"),
        pytest.param("0.0.0.0", True, Status.PASS, id="app-anonymises-ip"),
        pytest.param("10.1.2.3", False, Status.PASS, id="private-address"),
    ],
)
def test_ip_property(value: str, by_app: bool, status: Status) -> None:
    run = _with(**{"$ip": value})
    verdict = no_pii_in_events(_app_passed_ip(run, value) if by_app else run)
    assert verdict.status is status, verdict.summary
    if status is Status.FAIL:
        assert "set by the app's own call" in verdict.summary


def test_group_properties_are_exempt_like_person_properties() -> None:
    verdict = no_pii_in_events(_with(**{"$group_set": {"name": CANARIES.text}}))
    assert verdict.status is Status.PASS


def test_a_cookie_the_app_set_is_a_credential_in_event_properties() -> None:
    token = "eyJ1c2VyX2lkIjoxfQ.awmL5w.e_KjWFcXg39rfsPppsUNrl_jRO"
    run = _with(**{"$session_id": token})
    signup = next(x for x in run.exchanges if x.kind == "signup" and x.method == "POST")
    issued = dataclasses.replace(
        signup, response_headers={"Set-Cookie": f"session={token}; HttpOnly; Path=/"}
    )
    run = dataclasses.replace(
        run, exchanges=tuple(issued if x is signup else x for x in run.exchanges)
    )
    verdict = no_pii_in_events(run)
    assert verdict.status is Status.FAIL
    assert "the app's session cookie in properties.$session_id" in verdict.summary
    assert token not in json.dumps(verdict.evidence)  # a credential is never quoted whole


REAL = make_canaries("a3f09c1d77e2", typed=typed_values(None))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("canary", id="release-channel"),
        pytest.param("Canary Wharf", id="place-name"),
        pytest.param("Springfield", id="city-of-the-address"),
        pytest.param("Canary Street", id="street-of-the-address"),
        pytest.param("posthog-verify", id="the-tools-name"),
        pytest.param("remember the quarterly report", id="words-of-the-text"),
        pytest.param("example.com", id="domain-of-the-email"),
        pytest.param("Sonja Jackson", id="a-name-ending-in-son"),
        pytest.param("198.51.100.4", id="another-documentation-address"),
        pytest.param("198.51.100.470", id="the-client-address-digits-in-a-longer-number"),
        pytest.param("203.0.113.1", id="another-test-net-3-address"),
        pytest.param("user_signed_up", id="an-event-name"),
        pytest.param("/signup?next=/dashboard", id="a-url"),
        pytest.param("Mozilla/5.0 (X11; Linux x86_64)", id="a-user-agent"),
    ],
)
def test_real_canaries_match_no_ordinary_value(value: str) -> None:
    """Every canary the harness really makes carries run-id letters or is an
    address that must stand alone: none matches a value a correct app sends."""
    assert find_canary(value, canary_needles(REAL.pii())) is None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param(REAL.first_name, "first name", id="first-name"),
        pytest.param(f"hi {REAL.last_name.upper()}", "last name (the username)", id="last-name"),
        pytest.param(f"@{REAL.username}", "last name (the username)", id="username"),
        pytest.param(f"from {REAL.client_address}", "client address", id="client-address"),
        pytest.param(f"xff={REAL.ip}", "ip", id="forwarded-for"),
    ],
)
def test_real_canaries_are_found_inside_larger_strings(value: str, kind: str) -> None:
    found = find_canary(value, canary_needles(REAL.pii()))
    assert found is not None
    assert found[0] == kind


def _real_run(**props: t.Any):
    """The good run's note event carrying ``props``, judged against real canaries."""
    return dataclasses.replace(_with(**props), canaries=REAL)


@pytest.mark.parametrize(
    ("props", "path", "what"),
    [
        pytest.param(
            {"preview": REAL.text[:40]},
            "properties.preview",
            "the start of the text canary",
            id="note-preview",
        ),
        pytest.param(
            {"handle": REAL.email.split("@")[0]},
            "properties.handle",
            "the local part of the email canary",
            id="email-local-part",
        ),
        pytest.param(
            {"where": REAL.address.split(",")[0]},
            "properties.where",
            "the start of the address canary",
            id="address-without-town",
        ),
        pytest.param(
            {"tail": "…" + REAL.text[12:36]},
            "properties.tail",
            "a fragment of the text canary",
            id="text-middle",
        ),
    ],
)
def test_a_substantial_fragment_of_a_canary_fails(props, path, what) -> None:
    verdict = no_pii_in_events(_real_run(**props))
    assert verdict.status is Status.FAIL
    assert f"{what} in {path}" in verdict.summary
    item = verdict.evidence[0]
    assert item["path"] == path
    assert REAL.run_id in item["value"]  # the widened match shows the distinctive part


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(REAL.run_id, id="the-run-id-alone"),
        pytest.param(f"anon-{REAL.run_id}", id="the-anonymous-header-id"),
        pytest.param(f"sess-{REAL.run_id}", id="the-session-header-id"),
        pytest.param(REAL.text[:15], id="a-prefix-without-the-run-id"),
        pytest.param(REAL.text[-30:], id="the-ordinary-words-of-the-text"),
        pytest.param(REAL.text[20 : 20 + 14], id="fourteen-characters-with-the-run-id"),
        pytest.param("@example.com", id="the-domain-of-the-email"),
    ],
)
def test_short_or_generic_pieces_of_a_canary_are_not_personal_data(value: str) -> None:
    verdict = no_pii_in_events(_real_run(piece=value))
    assert verdict.status is Status.PASS, verdict.summary


def test_fragments_need_a_run_id() -> None:
    assert fragment_needles(REAL.pii(), "") == []
    assert find_fragment(REAL.text[:40], fragment_needles(REAL.pii(), REAL.run_id)) is not None
