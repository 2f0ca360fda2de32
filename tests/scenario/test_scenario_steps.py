"""The step log: what each exchange expected, what the driver decided, why a
request got no answer; the login after a signup that leaves the user logged
out; and the child's failures joined onto the exchanges (outcomes.py)."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import redirect
from flask import request
from flask import session

from harness.report.facts import run_facts
from harness.run import LOGIN_AFTER_SIGNUP
from harness.run import AppRef
from harness.run import Exchange
from harness.run import ProcessOutcome
from harness.run import Run
from harness.run import StepFailure
from harness.scenario.canary import make_canaries
from harness.scenario.canary import make_identity
from harness.scenario.drive import drive
from harness.scenario.load import load_scenario
from harness.scenario.outcomes import exit_description
from harness.scenario.outcomes import with_failures
from harness.scenario.plan import plan
from harness.scenario.plan import routes_from_app
from harness.scenario.transport import FailureKind
from harness.scenario.transport import FlaskClientTransport
from harness.scenario.transport import TransportError
from harness.subject.observations import parse_records

if t.TYPE_CHECKING:
    from harness.scenario.drive import DriveResult
    from harness.scenario.transport import Transport
    from harness.scenario.transport import TransportResponse

CANARIES = make_canaries("stepstest")
IDENTITY = make_identity("stepstest")
FORM = """<form method="post"><input type="email" name="email">
<input type="password" name="password"><button>Go</button></form>"""


def _drive(app: Flask, transport: Transport | None = None) -> DriveResult:
    steps = plan(load_scenario("default"), routes_from_app(app), None)
    return drive(
        transport or FlaskClientTransport(app),
        steps,
        CANARIES,
        IDENTITY,
        identified_as=lambda index: "user-7",
        timeout_s=5.0,
    )


def test_each_exchange_says_what_it_expected_and_what_was_decided(
    demo_app: Flask, transport: Transport
) -> None:
    exchanges = _drive(demo_app, transport).exchanges
    page, submit, hop = exchanges[1:4]
    assert (page.step, page.expected) == ("signup", "2xx|3xx")
    assert page.decisions[0].startswith("form page /signup: route /signup")
    assert submit.expected == "2xx|3xx"  # the scenario's expect, on the judged request
    assert submit.decisions[0].startswith("form found on /signup: POST /signup with ")
    assert "email" in submit.decisions[0]
    assert hop.decisions[0] == "followed the redirect of exchange 2 to /dashboard"
    assert hop.decisions[1].startswith("sent as the user with the visitor's X-POSTHOG-DISTINCT-ID")
    assert all(x.failure is None for x in exchanges)


def _login_after_signup_app(signup_to: str = "/login") -> Flask:
    app = Flask(__name__)
    app.secret_key = "steps-test"
    users: dict[str, str] = {}

    @app.get("/")
    def home() -> str:
        return "home"

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> t.Any:
        if request.method == "POST":
            users[request.form["email"]] = request.form["password"]
            return redirect(signup_to)  # no session: the user must log in
        return FORM

    @app.route("/login", methods=["GET", "POST"])
    def login() -> t.Any:
        if (
            request.method == "POST"
            and users.get(request.form["email"]) == request.form["password"]
        ):
            session["user"] = request.form["email"]
            return redirect("/dashboard")
        return FORM

    @app.get("/dashboard")
    def dashboard() -> t.Any:
        return "dashboard" if "user" in session else redirect("/login")

    return app


def test_a_signup_that_leaves_the_user_logged_out_is_followed_by_a_login() -> None:
    result = _drive(_login_after_signup_app())
    steps = [(x.step, x.method, x.path, x.status) for x in result.exchanges]
    assert steps[:7] == [
        ("anon_browse", "GET", "/", 200),
        ("signup", "GET", "/signup", 200),
        ("signup", "POST", "/signup", 302),
        ("signup", "GET", "/login", 200),
        (LOGIN_AFTER_SIGNUP, "GET", "/login", 200),
        (LOGIN_AFTER_SIGNUP, "POST", "/login", 302),
        (LOGIN_AFTER_SIGNUP, "GET", "/dashboard", 200),
    ]
    landed = result.exchanges[3]
    assert landed.decisions[-1] == (
        "the signup left the user logged out (it landed on a sign-in form at /login): "
        "logging in with the same credentials before the authenticated steps"
    )
    assert {x.kind for x in result.exchanges if x.step == LOGIN_AFTER_SIGNUP} == {"login"}
    dashboard = next(x for x in result.exchanges if x.step == "dashboard")
    assert (dashboard.status, dashboard.user) == (200, "user")  # really the user's
    assert "signup" not in result.incomplete


class _Hangs:
    """A transport whose requests to one path never answer."""

    def __init__(self, inner: Transport, path: str) -> None:
        self.inner, self.path = inner, path

    def request(self, method: str, path: str, **kwargs: t.Any) -> TransportResponse:
        if path == self.path:
            raise TransportError(FailureKind.TIMEOUT, f"no answer within {kwargs['timeout']:g} s")
        return self.inner.request(method, path, **kwargs)

    def clear_cookies(self) -> None:
        self.inner.clear_cookies()

    def close(self) -> None:
        self.inner.close()


def test_a_request_that_hangs_records_the_deadline() -> None:
    app = _login_after_signup_app()
    result = _drive(app, _Hangs(FlaskClientTransport(app), "/dashboard"))
    hung = next(x for x in result.exchanges if x.step == "dashboard")
    assert hung.status is None
    assert hung.failure == StepFailure(
        cause="no answer within 5 s (the request deadline): the request hung"
    )
    run = Run(app=AppRef(name="app", root="/app"), exchanges=(hung,))
    record = run_facts(run, versions={})["steps"][0]
    assert record["failure"]["cause"].startswith("no answer within 5 s")
    assert (record["http_status"], record["status"]) == (None, "no answer")


def _exchange(index: int, step: str, status: int | None, kind: str = "browse") -> Exchange:
    return Exchange(index, step, kind, "GET", f"/{step}", {}, status)


def test_the_childs_exception_is_attached_and_the_probes_own_is_not() -> None:
    observed = parse_records(
        [
            {"type": "request_error", "step": 1, "cause": "sqlite3.OperationalError: no such"},
            {"type": "request_error", "step": 2, "cause": "x.PosthogVerifyProbeError: probe"},
        ]
    )
    exchanges = [_exchange(0, "a", 200), _exchange(1, "b", 500), _exchange(2, "p", 500, "probe")]
    joined, crashed = with_failures(exchanges, observed, None, app_gone=False)
    assert [x.failure.cause if x.failure else None for x in joined] == [
        None,
        "sqlite3.OperationalError: no such",
        None,
    ]
    assert crashed is None


def test_a_crash_names_the_request_in_flight_not_the_next_one() -> None:
    observed = parse_records(
        [
            {"type": "request_start", "step": 0},
            {"type": "request_end", "step": 0},
            {"type": "request_start", "step": 1},  # the process died serving it
        ]
    )
    exchanges = [_exchange(0, "home", 200), _exchange(1, "signup", None), _exchange(2, "x", None)]
    outcome = ProcessOutcome(pid=1, exit_code=-11, stop_signal=None, stop_duration_s=None)
    joined, crashed = with_failures(exchanges, observed, outcome, app_gone=True)
    assert crashed is not None
    assert crashed.index == 1
    assert joined[1].failure is not None
    assert joined[1].failure.cause == (
        "the process died while serving this request (killed by signal SIGSEGV)"
    )


def test_exit_descriptions() -> None:
    def outcome(code: int | None) -> ProcessOutcome:
        return ProcessOutcome(pid=1, exit_code=code, stop_signal=None, stop_duration_s=None)

    assert exit_description(outcome(7)) == "exit code 7"
    assert exit_description(outcome(-9)) == "killed by signal SIGKILL"
    assert exit_description(None) == "exit code unknown"


def test_without_a_login_route_the_form_the_signup_landed_on_is_used() -> None:
    app = Flask(__name__)
    app.secret_key = "steps-test"

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> t.Any:
        return redirect("/welcome") if request.method == "POST" else FORM

    @app.route("/welcome", methods=["GET", "POST"])
    def welcome() -> t.Any:  # a sign-in form under a name no convention knows
        if request.method == "POST":
            session["user"] = request.form["email"]
            return redirect("/signup")
        return FORM

    result = _drive(app)
    relogin = [x for x in result.exchanges if x.step == LOGIN_AFTER_SIGNUP]
    assert [(x.method, x.path) for x in relogin][:2] == [("GET", "/welcome"), ("POST", "/welcome")]
    assert relogin[0].decisions[0] == (
        "form page /welcome: the sign-in form the signup landed on (/welcome)"
    )


def test_a_page_that_finds_the_user_logged_out_after_signup_logs_in_and_retries() -> None:
    result = _drive(_login_after_signup_app(signup_to="/"))
    steps = [(x.step, x.method, x.path, x.status) for x in result.exchanges]
    assert steps[1:10] == [
        ("signup", "GET", "/signup", 200),
        ("signup", "POST", "/signup", 302),  # seemed to log in: redirected away
        ("signup", "GET", "/", 200),
        (LOGIN_AFTER_SIGNUP, "GET", "/dashboard", 302),
        (LOGIN_AFTER_SIGNUP, "GET", "/login", 200),  # ...but the dashboard asks for credentials
        (LOGIN_AFTER_SIGNUP, "GET", "/login", 200),
        (LOGIN_AFTER_SIGNUP, "POST", "/login", 302),
        (LOGIN_AFTER_SIGNUP, "GET", "/dashboard", 200),
        ("dashboard", "GET", "/dashboard", 200),  # the step's request again, as the user
    ]
    assert (
        result.exchanges[5]
        .decisions[-1]
        .startswith("dashboard found the user logged out (it landed on a sign-in form at /login)")
    )


def test_a_redirect_to_https_is_not_followed_over_http_and_says_why() -> None:
    app = Flask(__name__)

    @app.before_request
    def force_https() -> t.Any:
        return redirect(request.url.replace("http://", "https://", 1), code=301)

    @app.get("/")
    def home() -> str:
        return "never served over http"

    result = _drive(app)
    first = result.exchanges[0]
    assert (first.step, first.status) == ("anon_browse", 301)
    assert first.decisions[-1].startswith("not followed: the app redirects to https://")
    assert all(x.redirect_of is None for x in result.exchanges)  # no hop over plain http


def test_a_plain_http_redirect_on_the_same_host_is_still_followed() -> None:
    app = Flask(__name__)

    @app.get("/")
    def home() -> t.Any:
        return redirect("http://localhost/welcome", code=302)

    @app.get("/welcome")
    def welcome() -> str:
        return "welcome"

    result = _drive(app)
    hop = result.exchanges[1]
    assert (hop.step, hop.path, hop.status, hop.redirect_of) == ("anon_browse", "/welcome", 200, 0)
