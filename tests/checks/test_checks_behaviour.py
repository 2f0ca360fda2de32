"""behaviour_preserved (harness/checks/behaviour.py, _compare.py) both ways:
what a run and its baseline may differ in without counting (canaries, CSRF
tokens, ids, the port, a PostHog snippet), and each difference that counts
quoted as step, baseline vs app."""

from __future__ import annotations

import dataclasses
import typing as t

from harness.checks._compare import Normaliser
from harness.checks._compare import quote_change
from harness.checks.behaviour import NO_BASELINE
from harness.checks.behaviour import behaviour_preserved
from harness.run import AppRef
from harness.run import Baseline
from harness.run import BootFailure
from harness.run import Exchange
from harness.run import Phase
from harness.run import Run
from harness.run import SuiteOutcome
from harness.scenario.canary import make_canaries
from harness.scenario.digest import digest_of
from harness.scenario.digest import visible_text
from harness.verdict import Status

SIGNUP_FORM = """<form method="post" action="/signup">
<input type="hidden" name="csrf_token" value="{csrf}">
<label for="email">Email</label><input name="email" type="email">
<label for="phone">Phone</label><input name="phone" type="tel">
<input name="password" type="password"><button>Create account</button></form>"""
SNIPPET = "<script>!function(t,e){{/* posthog snippet */}}(document,window.posthog||[]);</script>"


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>Notes</title></head><body>{body}</body></html>"


def exchange(
    index: int,
    step: str,
    path: str,
    status: int,
    body: str = "",
    *,
    method: str = "GET",
    location: str | None = None,
) -> Exchange:
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if location is not None:
        headers["Location"] = location
    return Exchange(
        index=index,
        step=step,
        kind="signup" if step == "signup" else "browse",
        method=method,
        path=path,
        request_headers={},
        status=status,
        response_headers=headers,
        digest=digest_of(headers, body, path),
    )


def scenario(
    run_id: str,
    *,
    port: int = 5001,
    csrf: str = "",
    head: str = "",
    signup_form: str = SIGNUP_FORM,
    signup_to: str = "/dashboard",
) -> tuple[Exchange, ...]:
    """The exchanges of one drive: browse, signup (form, submit, redirect), dashboard."""
    canaries = make_canaries(run_id)
    token = csrf or f"IjY{run_id}ZjM2Yzk0NGE1.Zx{run_id}"
    return (
        exchange(0, "anon_browse", "/", 200, page("<h1>Notes</h1><p>Sign up to start.</p>", head)),
        exchange(1, "signup", "/signup", 200, page(signup_form.format(csrf=token), head)),
        exchange(
            2,
            "signup",
            "/signup",
            302,
            method="POST",
            location=f"http://127.0.0.1:{port}{signup_to}",
        ),
        exchange(
            3,
            "signup",
            signup_to,
            200,
            page(f"<p>Hello, {canaries.name} ({canaries.email.upper()})</p><p>note 17</p>", head),
        ),
        exchange(
            4,
            "search",
            f"/search?q={canaries.email.replace('@', '%40')}",
            200,
            page(f"<p>Results for {canaries.email} at 12:0{port % 10}</p>", head),
        ),
    )


def run_of(run_id: str, exchanges: tuple[Exchange, ...], **fields: t.Any) -> Run:
    return Run(
        app=AppRef(name=run_id, root=f"/apps/{run_id}"),
        token=f"phc_posthogverify_test_{run_id}",
        canaries=make_canaries(run_id),
        distinct_id_header=f"anon-{run_id}",
        session_id_header=f"sess-{run_id}",
        exchanges=exchanges,
        **fields,
    )


BASE = run_of("b4se11", scenario("b4se11"))


def against(app: Run, baseline: Run = BASE) -> Run:
    return dataclasses.replace(app, baseline=Baseline.of(baseline))


def test_without_a_baseline_it_skips_with_the_reason() -> None:
    result = behaviour_preserved(run_of("a99a", scenario("a99a")))
    assert result.status is Status.SKIP
    assert result.summary == NO_BASELINE
    assert "--posthog-baseline PATH" in result.summary


def test_what_legitimately_differs_between_two_runs_is_no_difference() -> None:
    """Other canaries (also upper-cased and URL-encoded), another CSRF token,
    another port, other distinct/session ids, and the PostHog snippet."""
    app = run_of(
        "c0ffee", scenario("c0ffee", port=6123, csrf="ZZ99differentTokenValue123", head=SNIPPET)
    )
    result = behaviour_preserved(against(app))
    assert result.status is Status.PASS, result
    assert "all 3 steps" in result.summary
    assert "neither has a test suite" in result.summary


def test_a_changed_redirect_is_quoted_baseline_vs_app() -> None:
    app = run_of("c0ffee", scenario("c0ffee", signup_to="/"))
    result = behaviour_preserved(against(app))
    assert result.status is Status.FAIL
    (item,) = result.evidence
    assert item["step"] == "signup (request 2)"
    assert item["value"] == "redirect"
    assert item["baseline"] == "POST /signup -> 302 to /dashboard"
    assert item["app"] == "POST /signup -> 302 to /"
    assert "1 of 3 steps differ" in result.summary


def test_a_dropped_form_field_is_named() -> None:
    dropped = SIGNUP_FORM.replace(
        '<label for="phone">Phone</label><input name="phone" type="tel">', ""
    )
    app = run_of("c0ffee", scenario("c0ffee", signup_form=dropped))
    result = behaviour_preserved(against(app))
    assert result.status is Status.FAIL
    (item,) = result.evidence
    assert item["step"] == "signup"
    assert item["value"] == "field"
    assert item["baseline"] == "form POST /signup fields: csrf_token, email, phone, password"
    assert item["app"] == "form POST /signup fields: csrf_token, email, password"
    assert item["note"] == "GET /signup: dropped phone"


def test_a_changed_status_and_changed_text_are_quoted() -> None:
    exchanges = list(scenario("c0ffee"))
    exchanges[0] = exchange(0, "anon_browse", "/", 500, page("<h1>Oops</h1>"))
    changed = exchange(4, "search", "/search?q=x", 200, page("<p>Nothing found for you</p>"))
    base = list(BASE.exchanges)
    base[4] = exchange(4, "search", "/search?q=x", 200, page("<p>Results for you</p>"))
    exchanges[4] = changed
    result = behaviour_preserved(
        against(run_of("c0ffee", tuple(exchanges)), run_of("b4se11", tuple(base)))
    )
    assert result.status is Status.FAIL
    by_step = {item["step"]: item for item in result.evidence}
    assert by_step["anon_browse"]["value"] == "status"
    assert by_step["anon_browse"]["baseline"] == "GET / -> 200"
    assert by_step["anon_browse"]["app"] == "GET / -> 500"
    assert by_step["search"]["value"] == "text"
    assert by_step["search"]["baseline"] == "Notes Results for you"
    assert by_step["search"]["app"] == "Notes Nothing found for you"
    assert "2 of 3 steps differ" in result.summary


def test_a_step_the_app_did_not_make_is_a_difference_with_its_reason() -> None:
    app = run_of(
        "c0ffee",
        tuple(x for x in scenario("c0ffee") if x.step != "signup"),
        steps_skipped={"signup": "the app has no signup route"},
    )
    result = behaviour_preserved(against(app))
    assert result.status is Status.FAIL
    (item,) = result.evidence
    assert item["step"] == "signup"
    assert item["baseline"] == "GET /signup"
    assert item["note"] == "the app's run left it out: the app has no signup route"


def test_a_step_only_the_app_made_is_not_a_difference() -> None:
    extra = exchange(5, "browse:/ingest", "/ingest", 404, page("<p>Not found</p>"))
    app = run_of("c0ffee", (*scenario("c0ffee"), extra))
    assert behaviour_preserved(against(app)).status is Status.PASS


def suite(**tests: str) -> SuiteOutcome:
    messages = {name: f"AssertionError: {name} broke" for name, s in tests.items() if s != "passed"}
    return SuiteOutcome(
        command=("python", "-m", "pytest"), exit_code=0, tests=tests, messages=messages
    )


def test_a_test_that_passes_on_the_baseline_and_fails_on_the_app_is_quoted() -> None:
    base = dataclasses.replace(
        BASE, suite=suite(t_index="passed", t_labels="passed", t_flaky="failed")
    )
    app_suite = suite(t_index="passed", t_labels="failed", t_flaky="failed", t_new="failed")
    app = run_of("c0ffee", scenario("c0ffee"), suite=app_suite)
    result = behaviour_preserved(against(app, base))
    assert result.status is Status.FAIL
    (item,) = result.evidence  # t_flaky failed on both; t_new is not the baseline's
    assert item == {
        "test": "t_labels",
        "baseline": "passed",
        "app": "failed",
        "note": "AssertionError: t_labels broke",
    }
    assert (
        "1 of the app's own tests pass on the baseline and fail on the app: t_labels"
        in result.summary
    )


def test_own_tests_that_still_pass_are_counted_in_the_pass() -> None:
    base = dataclasses.replace(BASE, suite=suite(a="passed", b="passed", c="skipped"))
    app = run_of("c0ffee", scenario("c0ffee"), suite=suite(a="passed", b="passed", c="skipped"))
    result = behaviour_preserved(against(app, base))
    assert result.status is Status.PASS
    assert "the 2 own tests that pass on the baseline pass on the app" in result.summary


def test_a_suite_that_could_not_run_is_said_not_failed() -> None:
    cannot = dataclasses.replace(
        suite(),
        exit_code=1,
        note="pytest is not importable by the app's interpreter: the suite was not run",
    )
    base = dataclasses.replace(BASE, suite=suite(a="passed"))
    result = behaviour_preserved(against(run_of("c0ffee", scenario("c0ffee"), suite=cannot), base))
    assert result.status is Status.PASS
    assert "the app's own tests could not be compared: pytest is not importable" in result.summary


def test_a_baseline_that_could_not_be_driven_is_error() -> None:
    broken = dataclasses.replace(
        BASE, exchanges=(), boot_failure=BootFailure(Phase.BOOT, "no answer within 20 s")
    )
    result = behaviour_preserved(against(run_of("c0ffee", scenario("c0ffee")), broken))
    assert result.status is Status.ERROR
    assert (
        result.summary
        == "not judged: the baseline (/apps/b4se11) could not be driven: no answer within 20 s"
    )


def test_an_app_that_no_longer_boots_fails_and_a_harness_fault_is_error() -> None:
    raised = BootFailure(Phase.IMPORT, "KeyError: 'POSTHOG_KEY'", app_raised=True)
    result = behaviour_preserved(against(run_of("c0ffee", (), boot_failure=raised)))
    assert result.status is Status.FAIL
    assert "does not boot where its baseline does: KeyError: 'POSTHOG_KEY'" in result.summary
    hung = BootFailure(Phase.BOOT, "no READY line within 20 s")
    result = behaviour_preserved(against(run_of("c0ffee", (), boot_failure=hung)))
    assert result.status is Status.ERROR
    assert "not judged" in result.summary


# -- normalisation and quoting ------------------------------------------------


def test_the_normaliser_rewrites_each_kind_of_run_unique_value() -> None:
    canaries = make_canaries("ab12cd")
    norm = Normaliser.of(canaries, "anon-1f2e", "sess-9a8b", "phc_posthogverify_test_ab12cd")
    other = Normaliser.of(make_canaries("zz99yy"), "anon-0000", "sess-1111", "phc_x")
    text = f"Hi {canaries.email.upper()} ({canaries.first_name}), id anon-1f2e, 3 notes"
    assert norm.text(text) == "Hi <email> (<first name>), id <distinct id>, # notes"
    assert (
        norm.url(f"http://127.0.0.1:5123/u?e={canaries.email.replace('@', '%40')}")
        == "/u?e=<email>"
    )
    assert (
        other.url("http://localhost:6000/u/77") == norm.url("http://127.0.0.1:5123/u/12") == "/u/#"
    )
    assert norm.text("csrf IjQ2YzA1MzE4ZDk0.Zx3kPw.abc") == "csrf <token>"


def test_ordinary_words_are_left_alone() -> None:
    norm = Normaliser.of(make_canaries("ab12cd"))
    assert norm.text("Sign up Create account dashboard") == "Sign up Create account dashboard"


def test_the_visible_text_has_no_script_style_or_markup() -> None:
    html = page('<p class="x">Hello &amp; welcome</p><!-- hi --><style>p{}</style>', SNIPPET)
    assert visible_text(html) == "Notes Hello & welcome"


def test_quote_change_shows_the_first_stretch_that_differs_with_context() -> None:
    base = "one two three four five six seven eight nine ten eleven twelve"
    app = "one two three four five SIX seven eight nine ten eleven twelve"
    assert quote_change(base, app) == (
        "...two three four five six seven eight nine ten...",
        "...two three four five SIX seven eight nine ten...",
    )
