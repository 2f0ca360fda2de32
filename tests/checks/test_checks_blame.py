"""Who is blamed for a failed step (harness/checks/_blame.py), each way:
the environment's ``error`` naming the step and cause, the integration's
``fail`` quoting its traceback, and the app that cannot serve at all."""

from __future__ import annotations

import dataclasses

import pytest
from checks_runs import good_run

from harness.checks import not_applicable
from harness.checks import run_checks
from harness.checks._blame import NOT_FLOW_CHECKS
from harness.checks._blame import with_baseline
from harness.checks.ids import CLAIM_IDS
from harness.checks.ids import GUIDANCE_IDS
from harness.run import BootFailure
from harness.run import Exchange
from harness.run import Phase
from harness.run import Run
from harness.run import SourceLocation
from harness.run import StepFailure
from harness.scenario.outcomes import step_failed as failed
from harness.verdict import Status

NO_TABLE = StepFailure(
    cause="sqlite3.OperationalError: no such table: user",
    location=SourceLocation("app/auth/routes.py", 42),
    traceback_tail='  File "app/auth/routes.py", line 42, in signup\nsqlite3.OperationalError: ...',
)
TEARDOWN = StepFailure(
    cause="TypeError: _GeneratorContextManager.__exit__() missing 2 required positional arguments",
    location=SourceLocation("wsgi.py", 61),
    traceback_tail='  File "wsgi.py", line 61, in close_posthog_context\nTypeError: ...',
    in_integration=True,
)
TOO_OLD = StepFailure(
    cause="AttributeError: 'Posthog' object has no attribute 'evaluate_flags': the app calls "
    "Posthog.evaluate_flags(), which posthog 6.0.0 does not have (it ships from posthog 7.14.0 on)",
    location=SourceLocation("app/analytics.py", 63),
    sdk_too_old=True,
)
HUNG = StepFailure(cause="no answer within 2 s (the request deadline): the request hung")


def failing(run: Run, index: int, failure: StepFailure, status: int | None = 500) -> Run:
    """``run`` with exchange ``index`` answering ``status`` for ``failure``."""
    changed = [
        dataclasses.replace(x, status=status, failure=failure) if x.index == index else x
        for x in run.exchanges
    ]
    return dataclasses.replace(run, exchanges=tuple(changed))


def verdicts(run: Run) -> dict[str, tuple[Status, str]]:
    return {r.check_id: (r.status, r.summary) for r in run_checks(run)}


def test_the_good_run_is_untouched() -> None:
    got = verdicts(good_run())
    assert {got[c][0] for c in GUIDANCE_IDS} == {Status.PASS}
    assert {got[c][0] for c in CLAIM_IDS} == {Status.SKIP}  # nothing to compare with


def test_a_signup_that_needs_setup_is_not_judged_naming_step_cause_and_fix() -> None:
    got = verdicts(failing(good_run(), 2, NO_TABLE))
    status, summary = got["identify_on_signup"]
    assert status is Status.ERROR
    assert summary == (
        "not judged: signup answered 500: sqlite3.OperationalError: no such table: user "
        "(app/auth/routes.py:42): the app needs set-up, see [setup]"
    )
    assert got["no_pii_in_events"][0] is Status.ERROR  # the canaries went in at signup
    # The header checks are judged on the requests that were served.
    assert got["session_id_from_header"][0] is Status.PASS
    # Checks that do not rest on the signup still judge: the rest of the run is good.
    assert got["boots"][0] is Status.PASS
    assert got["identify_on_login"][0] is Status.PASS
    assert got["exception_captured"][0] is Status.PASS


def test_a_failure_in_integration_code_is_the_integrations_fail_with_its_traceback() -> None:
    run = failing(good_run(), 2, TEARDOWN)
    result = next(r for r in run_checks(run) if r.check_id == "identify_on_signup")
    assert result.status is Status.FAIL
    assert result.summary.startswith("signup answered 500 in PostHog integration code: TypeError")
    assert result.evidence[0]["location"] == "wsgi.py:61"
    assert "close_posthog_context" in result.evidence[0]["note"]
    assert result.evidence[0]["in_integration"] is True


def test_a_hung_step_is_not_judged_naming_the_deadline() -> None:
    status, summary = verdicts(failing(good_run(), 7, HUNG, status=None))["identify_on_login"]
    assert status is Status.ERROR
    assert "login did not answer: no answer within 2 s (the request deadline)" in summary
    assert "--posthog-timeout" in summary


def test_an_app_that_fails_every_request_is_not_judged_and_never_passes() -> None:
    run = good_run()
    for exchange in run.exchanges:
        run = failing(run, exchange.index, NO_TABLE)
    got = verdicts(run)
    for check, (status, summary) in got.items():
        if check in not_applicable(run):  # no report, plan or baseline: skip
            assert status is Status.SKIP, check
            continue
        if check in NOT_FLOW_CHECKS:
            continue
        assert status is Status.ERROR, check
        assert summary.startswith("not judged: the app answered 500 to every request: sqlite3")
    assert got["single_client"][0] is Status.PASS  # the client's construction is still judged


def test_an_integration_raising_on_every_request_fails_every_flow_check() -> None:
    run = good_run()
    for exchange in run.exchanges:
        run = failing(run, exchange.index, TEARDOWN)
    got = verdicts(run)
    assert got["boots"] == (
        Status.FAIL,
        "the PostHog integration raised on every request (answered 500): "
        f"{TEARDOWN.cause} (wsgi.py:61)",
    )
    skipped = not_applicable(run)  # no report, plan or baseline
    assert {got[c][0] for c in skipped} <= {Status.SKIP}
    flow = {c: s for c, (s, _) in got.items() if c not in NOT_FLOW_CHECKS | set(skipped)}
    assert set(flow.values()) == {Status.FAIL}
    assert got["exception_autocapture"][0] is Status.PASS


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [
        pytest.param(Exchange(0, "s", "browse", "GET", "/", {}, 500), False, id="500-no-exception"),
        pytest.param(
            Exchange(0, "s", "browse", "GET", "/", {}, 200, failure=NO_TABLE),
            False,
            id="handled-exception-2xx",
        ),
        pytest.param(
            Exchange(0, "probe", "probe", "GET", "/p", {}, 500, failure=NO_TABLE),
            False,
            id="probe-raises-by-design",
        ),
        pytest.param(
            Exchange(0, "probe", "probe", "GET", "/p", {}, 500, failure=TEARDOWN),
            True,
            id="probe-broken-by-integration",
        ),
        pytest.param(
            Exchange(0, "s", "browse", "GET", "/", {}, None, failure=HUNG), True, id="hang"
        ),
        pytest.param(
            Exchange(0, "s", "browse", "GET", "/", {}, 503, failure=NO_TABLE), True, id="5xx"
        ),
    ],
)
def test_what_counts_as_a_failed_step(exchange: Exchange, expected: bool) -> None:
    assert failed(exchange) is expected


def test_a_manifest_skip_still_wins_over_blame() -> None:
    run = dataclasses.replace(
        failing(good_run(), 2, NO_TABLE), skip={"identify_on_signup": "no users here"}
    )
    assert verdicts(run)["identify_on_signup"] == (Status.SKIP, "no users here")


# -- --posthog-baseline: the same app before the integration decides ----------


def test_a_failure_the_baseline_shares_is_the_environments_whatever_the_traceback() -> None:
    blamed_on_posthog = dataclasses.replace(NO_TABLE, in_integration=True)
    run = with_baseline(failing(good_run(), 2, blamed_on_posthog), failing(good_run(), 2, NO_TABLE))
    status, summary = verdicts(run)["identify_on_signup"]
    assert status is Status.ERROR
    assert "no such table: user (the baseline fails the same way)" in summary


def test_a_failure_the_baseline_does_not_share_is_the_integrations() -> None:
    run = with_baseline(failing(good_run(), 2, NO_TABLE), good_run())
    status, summary = verdicts(run)["identify_on_signup"]
    assert status is Status.FAIL
    assert summary.startswith("signup answered 500 in PostHog integration code: sqlite3")
    assert "(the baseline serves this step)" in summary


def test_a_step_the_baseline_never_made_keeps_the_tracebacks_reading() -> None:
    baseline = dataclasses.replace(
        good_run(), exchanges=tuple(x for x in good_run().exchanges if x.step != "signup")
    )
    run = with_baseline(failing(good_run(), 2, NO_TABLE), baseline)
    assert verdicts(run)["identify_on_signup"][0] is Status.ERROR
    assert run.exchanges[2].failure == NO_TABLE


def test_a_boot_failure_the_baseline_shares_is_not_the_apps_raising() -> None:
    raised = BootFailure(Phase.BOOT, "KeyError: 'SHOP_DB'", app_raised=True, detail="Traceback")
    app = dataclasses.replace(good_run(), exchanges=(), boot_failure=raised)
    run = with_baseline(app, app)
    assert run.boot_failure is not None
    assert run.boot_failure.app_raised is False
    assert verdicts(run)["boots"][0] is Status.ERROR
    assert verdicts(app)["boots"][0] is Status.FAIL  # without the baseline: the app's own


def test_the_header_checks_are_decided_only_when_no_request_of_theirs_was_served() -> None:
    run = good_run()
    probe_broken = failing(run, 9, TEARDOWN)  # the 500 handler's capture_exception raised
    got = verdicts(probe_broken)
    assert got["exception_captured"][0] is Status.FAIL
    assert got["distinct_id_from_header"][0] is Status.PASS
    anonymous = [x.index for x in run.exchanges if x.user == "anonymous" and x.kind == "browse"]
    for index in anonymous:
        run = failing(run, index, NO_TABLE)
    run = failing(run, 9, HUNG, status=None)  # and the probe never answered
    status, summary = verdicts(run)["distinct_id_from_header"]
    assert status is Status.ERROR
    assert summary.startswith("not judged: anon_browse answered 500: sqlite3.OperationalError")


def test_an_api_the_sdk_predates_leaves_every_flow_check_unjudged() -> None:
    """Rule 0: one request that called an API its SDK lacks, and what followed
    is not the app as written: error everywhere but the client's construction."""
    run = failing(good_run(), 2, TOO_OLD)
    got = verdicts(run)
    judged = {c for c, (status, _) in got.items() if status is not Status.ERROR}
    assert judged == {"single_client", "exception_autocapture", *not_applicable(run)}
    _, summary = got["distinct_id_from_header"]  # served requests do not rescue it
    assert summary == f"not judged: signup answered 500: {TOO_OLD.cause} (app/analytics.py:63)"


def test_without_the_marker_the_same_exception_is_judged_as_usual() -> None:
    plain = dataclasses.replace(TOO_OLD, sdk_too_old=False, in_integration=True)
    got = verdicts(failing(good_run(), 2, plain))
    assert got["identify_on_signup"][0] is Status.FAIL
    assert got["single_client"][0] is Status.PASS


def _redirected(run: Run, location: str, keep: int | None = None) -> Run:
    """Every exchange (but ``keep``) answered 301 to ``location`` + its path."""
    changed = [
        x
        if x.index == keep
        else dataclasses.replace(x, status=301, response_headers={"Location": location + x.path})
        for x in run.exchanges
    ]
    return dataclasses.replace(run, exchanges=tuple(changed))


def test_an_app_that_forces_tls_is_not_judged_naming_the_cause_and_the_fix() -> None:
    run = _redirected(good_run(), "https://127.0.0.1:5000")
    got = verdicts(run)
    skipped = not_applicable(run)  # no report, plan or baseline
    flows = [c for c in got if c not in NOT_FLOW_CHECKS | set(skipped) and c != "boots"]
    for check in flows:
        status, summary = got[check]
        assert status is Status.ERROR, check
        assert "answered every request 301 to https://" in summary
        assert "[env]" in summary
    assert got["boots"][0] is Status.PASS  # it answers: it booted
    assert all(got[c][0] is Status.PASS for c in NOT_FLOW_CHECKS)


@pytest.mark.parametrize(
    ("location", "keep"),
    [
        pytest.param("https://127.0.0.1:5000", 3, id="one-request-served"),
        pytest.param("http://127.0.0.1:5000", None, id="plain-http-redirects"),
    ],
)
def test_not_every_request_to_https_is_judged_as_usual(location: str, keep: int | None) -> None:
    got = verdicts(_redirected(good_run(), location, keep))
    assert not any("to https://" in summary for _, summary in got.values())


def _disabled(condition: str) -> Run:
    """The good run's client built with disabled=True by ``condition``; nothing arrived."""
    run = good_run()
    client = dataclasses.replace(run.clients[0], kwargs={**run.clients[0].kwargs, "disabled": True})
    site = dataclasses.replace(
        run.static.constructions[0],
        kwargs={**run.static.constructions[0].kwargs, "disabled": condition},
    )
    static = dataclasses.replace(run.static, constructions=(site,))
    return dataclasses.replace(run, clients=(client,), events=(), requests=(), static=static)


def test_a_client_disabled_by_the_apps_own_switch_is_not_judged_naming_the_condition() -> None:
    condition = 'not token or os.environ.get("APP_ENV", "development") != "production"'
    got = verdicts(_disabled(condition))
    status, summary = got["identify_on_signup"]
    assert status is Status.ERROR
    assert "built with disabled=True at app.py:12" in summary
    assert f"(disabled={condition})" in summary
    assert "[env]" in summary
    assert got["key_from_env"][0] is Status.ERROR
    assert got["single_client"][0] is Status.PASS  # how it was built is still judged


def test_a_client_disabled_for_good_fails_naming_disabled_true() -> None:
    got = verdicts(_disabled("True"))
    status, summary = got["no_silent_drops"]
    assert status is Status.FAIL
    assert summary.startswith("the PostHog client was built with disabled=True at app.py:12")


def test_a_disabled_client_beside_events_that_arrived_is_judged_as_usual() -> None:
    run = dataclasses.replace(_disabled("True"), events=good_run().events)
    assert not any("disabled=True" in summary for _, summary in verdicts(run).values())
