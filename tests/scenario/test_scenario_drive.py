"""The driver end to end, against the demo app (tests/scenario/conftest.py),
through both transports: the real HTTP server and Flask's test client."""

from __future__ import annotations

import socket
import typing as t

from harness.run import Exchange
from harness.scenario.canary import make_canaries
from harness.scenario.canary import make_identity
from harness.scenario.drive import EXCERPT_CHARS
from harness.scenario.drive import drive
from harness.scenario.load import load_scenario
from harness.scenario.plan import PlannedStep
from harness.scenario.plan import plan
from harness.scenario.plan import routes_from_app
from harness.scenario.transport import HttpTransport

if t.TYPE_CHECKING:
    from flask import Flask

    from harness.scenario.drive import DriveResult
    from harness.scenario.transport import Transport

RUN_ID = "drivetest"
CANARIES = make_canaries(RUN_ID)
IDENTITY = make_identity(RUN_ID)

# (step, method, path, status, sent as user) for the default scenario on the demo app
EXPECTED = [
    ("anon_browse", "GET", "/", 200, False),
    ("signup", "GET", "/signup", 200, False),
    ("signup", "POST", "/signup", 302, False),
    ("signup", "GET", "/dashboard", 200, True),
    ("dashboard", "GET", "/dashboard", 200, True),
    ("api_action", "POST", "/api/notes", 201, True),
    ("logout", "GET", "/logout", 302, True),
    ("logout", "GET", "/", 200, False),
    ("login", "GET", "/login", 200, False),
    ("login", "POST", "/login", 302, False),
    ("login", "GET", "/dashboard", 200, True),
    ("dashboard_again", "GET", "/dashboard", 200, True),
    ("probe", "GET", "/__posthog_verify__/raise", 500, False),
    ("logout_final", "GET", "/logout", 302, True),
    ("logout_final", "GET", "/", 200, False),
    ("anon_after_logout", "GET", "/", 200, False),
]


def _drive_default(demo_app: Flask, transport: Transport) -> DriveResult:
    demo = demo_app.extensions["demo"]
    steps = plan(load_scenario("default"), routes_from_app(demo_app), None)
    return drive(
        transport,
        steps,
        CANARIES,
        IDENTITY,
        identified_as=lambda index: demo["identified"].get(index),
        timeout_s=10.0,
    )


def test_default_scenario_exchanges(demo_app: Flask, transport: Transport) -> None:
    result = _drive_default(demo_app, transport)

    assert result.error is None
    got = [(x.step, x.method, x.path, x.status, x.user == "user") for x in result.exchanges]
    assert got == EXPECTED
    assert [x.index for x in result.exchanges] == list(range(len(EXPECTED)))
    assert result.skipped == {"errors": "the manifest names no [errors] paths"}
    assert result.incomplete == {}
    assert result.unexpected == ()
    assert [x.kind for x in result.exchanges][:4] == ["browse", "signup", "signup", "signup"]


def test_forms_were_filled_with_canaries(demo_app: Flask, transport: Transport) -> None:
    result = _drive_default(demo_app, transport)
    demo = demo_app.extensions["demo"]

    user = demo["users"][CANARIES.email]
    assert user["full_name"] == CANARIES.name
    assert user["phone"] == CANARIES.phone
    assert user["street_address"] == CANARIES.address
    assert user["bio"] == CANARIES.text
    assert user["plan"] == "free"
    assert user["action"] == "signup"  # the clicked button is part of the form
    assert demo["notes"] == [CANARIES.text]  # JSON POST passed the CSRF header check
    submit = result.exchanges[2]
    assert submit.form is not None
    assert submit.form["csrf_token"]
    assert result.exchanges[5].json == {"text": CANARIES.text}


def test_headers_follow_login_state(demo_app: Flask, transport: Transport) -> None:
    result = _drive_default(demo_app, transport)
    seen = demo_app.extensions["demo"]["seen"]

    assert len(seen) == len(result.exchanges)
    for exchange, served in zip(result.exchanges, seen, strict=True):
        # the step header the app saw is the exchange's own index
        assert served["step"] == str(exchange.index)
        assert served["forwarded_for"] == CANARIES.ip
        assert served["session_id"] == IDENTITY.session_id
        assert served["distinct_id"] == exchange.distinct_id_header
        identified = exchange.user == "user" and not _stale_hop(exchange)
        expected_id = "user-1" if identified else IDENTITY.distinct_id
        assert exchange.distinct_id_header == expected_id, exchange
        assert exchange.session_id_header == IDENTITY.session_id
        assert exchange.request_headers["X-Posthog-Verify-Step"] == str(exchange.index)
        # cookies kept: the app knew the user exactly when the driver said so
        assert (served["user"] is not None) == (exchange.user == "user"), exchange


def test_probe_is_sent_without_the_session(demo_app: Flask, transport: Transport) -> None:
    result = _drive_default(demo_app, transport)
    seen = demo_app.extensions["demo"]["seen"]

    probe = next(x for x in result.exchanges if x.kind == "probe")
    assert seen[probe.index]["user"] is None
    assert probe.distinct_id_header == IDENTITY.distinct_id
    # the next authenticated request still has the session: the jar was untouched
    assert seen[probe.index + 1]["user"] == CANARIES.email


def test_body_excerpt_is_bounded(demo_app: Flask, transport: Transport) -> None:
    result = _drive_default(demo_app, transport)

    signup_page = result.exchanges[1]
    assert len(signup_page.body_excerpt) == EXCERPT_CHARS
    assert signup_page.body_excerpt.startswith("<!doctype html>")


def _stale_hop(exchange: Exchange) -> bool:
    """The page a successful signup or login redirects to: loaded as the user,
    with the visitor's header (posthog-js has not identified them yet)."""
    return exchange.redirect_of is not None and exchange.kind in ("signup", "login")


def test_the_page_after_a_submission_is_sent_with_the_stale_anonymous_header(
    demo_app: Flask, transport: Transport
) -> None:
    result = _drive_default(demo_app, transport)
    hops = [x for x in result.exchanges if x.user == "user" and _stale_hop(x)]
    assert [(x.step, x.path) for x in hops] == [("signup", "/dashboard"), ("login", "/dashboard")]
    for hop in hops:
        assert hop.distinct_id_header == IDENTITY.distinct_id
        assert hop.request_headers["X-POSTHOG-DISTINCT-ID"] == IDENTITY.distinct_id
        assert "visitor's X-POSTHOG-DISTINCT-ID" in hop.decisions[-1]
    after = result.exchanges[result.exchanges.index(hops[0]) + 1]
    assert (after.step, after.distinct_id_header) == ("dashboard", "user-1")


def test_without_identification_no_distinct_id_is_sent(
    demo_app: Flask, transport: Transport
) -> None:
    steps = plan(load_scenario("default"), routes_from_app(demo_app), None)
    result = drive(transport, steps, CANARIES, IDENTITY, identified_as=lambda i: None, timeout_s=10)

    for exchange in result.exchanges:
        if exchange.user == "user" and not _stale_hop(exchange):
            assert exchange.distinct_id_header is None
            assert "X-POSTHOG-DISTINCT-ID" not in exchange.request_headers
            assert exchange.session_id_header == IDENTITY.session_id
        else:
            assert exchange.distinct_id_header == IDENTITY.distinct_id


def test_hanging_request_times_out_and_the_drive_goes_on(
    demo_app: Flask, transport: Transport
) -> None:
    steps = [
        PlannedStep(name="hang", kind="other", method="GET", path="/hang"),
        PlannedStep(name="after", kind="browse", method="GET", path="/"),
    ]
    result = drive(
        transport, steps, CANARIES, IDENTITY, identified_as=lambda i: None, timeout_s=0.3
    )

    hung, after = result.exchanges
    assert hung.status is None
    assert hung.error == "timeout: no answer within 0.3 s"
    assert 0.3 <= hung.duration_s < 5
    assert after.status == 200
    assert result.error is None


def test_refused_connection_stops_the_drive() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    # nothing listens on the port now
    transport = HttpTransport(f"http://127.0.0.1:{port}")
    steps = [
        PlannedStep(name="first", kind="browse", method="GET", path="/"),
        PlannedStep(name="second", kind="browse", method="GET", path="/"),
    ]
    result = drive(transport, steps, CANARIES, IDENTITY, identified_as=lambda i: None, timeout_s=2)
    transport.close()

    (only,) = result.exchanges
    assert only.status is None
    assert only.error is not None
    assert only.error.startswith("refused: ")
    assert result.error == "the app stopped answering at exchange 0 (first)"
    assert result.skipped == {"second": "not run: the app stopped answering at exchange 0 (first)"}


SIGNUP = PlannedStep(
    name="signup", kind="signup", method="GET", path="/signup", form=True, role="signup"
)
DASHBOARD = PlannedStep(name="dashboard", kind="browse", method="GET", path="/dashboard")


def test_rejected_signup_stays_anonymous(demo_app: Flask, transport: Transport) -> None:
    rejected = PlannedStep(
        name="signup", kind="signup", method="GET", path="/signup", form=True, role="signup",
        fields={"confirm_password": "not the same"}, expect="3xx",
    )  # fmt: skip
    result = drive(
        transport, [rejected, DASHBOARD], CANARIES, IDENTITY,
        identified_as=lambda i: "never-asked", timeout_s=10,
    )  # fmt: skip

    assert [(x.step, x.method, x.path, x.status, x.user) for x in result.exchanges] == [
        ("signup", "GET", "/signup", 200, "anonymous"),
        ("signup", "POST", "/signup", 200, "anonymous"),
        ("dashboard", "GET", "/dashboard", 302, "anonymous"),
        ("dashboard", "GET", "/login", 200, "anonymous"),
    ]
    assert result.incomplete == {
        "signup": "the app answered 200 with the sign-in form again (rejected?)"
    }
    assert result.unexpected == ("signup: expected 3xx, got 200",)


def test_refused_logout_clears_the_session(demo_app: Flask, transport: Transport) -> None:
    logout = PlannedStep(
        name="logout", kind="logout", method="GET", path="/logout-broken", role="logout"
    )
    result = drive(
        transport, [SIGNUP, logout, DASHBOARD], CANARIES, IDENTITY,
        identified_as=lambda i: f"id-{i}", timeout_s=10,
    )  # fmt: skip
    seen = demo_app.extensions["demo"]["seen"]

    # signup: GET form (0), POST (1, identified as id-1), redirect (2); logout (3)
    broken = next(x for x in result.exchanges if x.step == "logout")
    assert (broken.status, broken.user, broken.distinct_id_header) == (500, "user", "id-1")
    after = [x for x in result.exchanges if x.step == "dashboard"]
    assert [x.user for x in after] == ["anonymous", "anonymous"]
    assert all(seen[x.index]["user"] is None for x in after)
    assert result.incomplete == {"logout": "the app refused the logout (500); cookies cleared"}


def test_manifest_fields_override_the_filling(demo_app: Flask, transport: Transport) -> None:
    # manifest syntax: "{{" is a literal brace, "{secret}" its own placeholder
    signup = PlannedStep(
        name="signup", kind="signup", method="POST", path="/signup", form=True, role="signup",
        fields={"full_name": "{canary.name} {Jr}", "bio": "{secret}"}, origin="manifest",
    )  # fmt: skip
    result = drive(
        transport, [signup], CANARIES, IDENTITY, identified_as=lambda i: None, timeout_s=10
    )

    user = demo_app.extensions["demo"]["users"][CANARIES.email]
    assert user["full_name"] == f"{CANARIES.name} {{Jr}}"
    assert user["bio"] == CANARIES.password
    assert user["csrf_token"]  # the discovered form's hidden field is still sent
    assert result.incomplete == {}


def test_post_logout_sends_the_pages_csrf_field(demo_app: Flask, transport: Transport) -> None:
    logout = PlannedStep(
        name="logout", kind="logout", method="POST", path="/logout-post", role="logout"
    )
    result = drive(
        transport, [SIGNUP, logout, DASHBOARD], CANARIES, IDENTITY,
        identified_as=lambda i: None, timeout_s=10,
    )  # fmt: skip
    seen = demo_app.extensions["demo"]["seen"]

    post = next(x for x in result.exchanges if x.step == "logout")
    assert post.status == 302
    assert post.form is not None
    assert set(post.form) == {"csrf_token"}
    assert result.incomplete == {}
    after = next(x for x in result.exchanges if x.step == "dashboard")
    assert (after.user, seen[after.index]["user"]) == ("anonymous", None)


def test_json_login_from_the_manifest_logs_in(demo_app: Flask, transport: Transport) -> None:
    logout = PlannedStep(name="logout", kind="logout", method="GET", path="/logout", role="logout")
    login = PlannedStep(
        name="login", kind="login", method="POST", path="/api/session", role="login",
        json={"email": "{canary.email}", "password": "{canary.password}"}, origin="manifest",
    )  # fmt: skip
    demo = demo_app.extensions["demo"]
    result = drive(
        transport, [SIGNUP, logout, login, DASHBOARD], CANARIES, IDENTITY,
        identified_as=lambda i: demo["identified"].get(i), timeout_s=10,
    )  # fmt: skip

    posted = next(x for x in result.exchanges if x.step == "login")
    assert (posted.status, posted.user) == (200, "anonymous")
    after = next(x for x in result.exchanges if x.step == "dashboard")
    assert (after.status, after.user, after.distinct_id_header) == (200, "user", "user-1")
    assert result.incomplete == {}
