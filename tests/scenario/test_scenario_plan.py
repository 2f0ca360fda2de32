"""Planning the default scenario against route tables, with and without a manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from harness.scenario.load import load_scenario
from harness.scenario.plan import PlannedStep
from harness.scenario.plan import Route
from harness.scenario.plan import find_role_route
from harness.scenario.plan import plan
from harness.scenario.plan import routes_from_app
from harness.subject.manifest import FormSpec
from harness.subject.manifest import Manifest
from harness.subject.manifest import StepSpec

GET, POST, BOTH = frozenset({"GET"}), frozenset({"POST"}), frozenset({"GET", "POST"})
PROBE = Route("/__posthog_verify__/raise", GET, "posthog_verify_probe")
CONVENTIONAL = (
    Route("/", GET, "index"),
    Route("/static/<path:filename>", GET, "static"),
    Route("/signup", BOTH, "auth.signup"),
    Route("/login", BOTH, "auth.login"),
    Route("/logout", GET, "auth.logout"),
    Route("/dashboard", GET, "main.dashboard"),
    Route("/api/notes", POST, "api.create_note"),
    PROBE,
)


def _by_name(steps: list[PlannedStep]) -> dict[str, PlannedStep]:
    return {step.name: step for step in steps}


def test_conventional_app() -> None:
    planned = plan(load_scenario(), CONVENTIONAL, None)
    summary = [(s.name, s.method, s.path, s.form) for s in planned]
    assert summary == [
        ("anon_browse", "GET", "/", False),
        ("signup", "GET", "/signup", True),
        ("dashboard", "GET", "/dashboard", False),
        ("api_action", "POST", "/api/notes", False),
        ("logout", "GET", "/logout", False),
        ("login", "GET", "/login", True),
        ("dashboard_again", "GET", "/dashboard", False),
        ("probe", "GET", "/__posthog_verify__/raise", False),
        ("logout_final", "GET", "/logout", False),
        ("anon_after_logout", "GET", "/", False),
    ]
    assert planned.skipped == {"errors": "the manifest names no [errors] paths"}
    steps = _by_name(planned)
    assert steps["signup"].role == "signup"
    assert steps["signup"].why == "route /signup (endpoint auth.signup)"
    assert steps["api_action"].json == {"text": "{canary.text}"}
    assert steps["probe"].anonymous


def test_unconventional_names_found_by_rule_and_endpoint() -> None:
    routes = (
        Route("/", GET, "index"),
        Route("/api/signin", POST, "api.signin"),  # JSON only: no page to fill
        Route("/enter", BOTH, "auth.sign_in"),
        Route("/members/new", BOTH, "members.create_account"),
        Route("/bye", POST, "auth.log_out"),
        Route("/dashboard/", GET, "dash"),
    )
    steps = _by_name(plan(load_scenario(), routes, None))
    assert (steps["login"].path, steps["login"].form) == ("/enter", True)
    assert steps["login"].why == "by convention: route /enter (endpoint auth.sign_in)"
    assert steps["signup"].path == "/members/new"
    assert (steps["logout"].method, steps["logout"].path) == ("POST", "/bye")
    assert steps["dashboard"].path == "/dashboard/"  # the rule's own form: no redirect


def test_missing_routes_are_skipped_with_the_reason() -> None:
    routes = (Route("/", GET, "index"), Route("/about", GET, "about"))
    planned = plan(load_scenario(), routes, None)
    assert [s.name for s in planned] == [
        "anon_browse", "dashboard", "api_action", "dashboard_again", "anon_after_logout",
    ]  # fmt: skip
    assert _by_name(planned)["api_action"].form  # the form-discovery fallback on "/"
    skipped = planned.skipped
    assert set(skipped) == {"signup", "logout", "login", "probe", "errors", "logout_final"}
    assert skipped["signup"].startswith("the app has no signup route (tried GET /signup, ")
    assert (
        "rules or endpoints named createaccount|join|register|registration|signup"
        in (skipped["signup"])
    )
    assert skipped["signup"].endswith("name it in the manifest's [signup] table")
    assert (
        skipped["probe"] == "the app has no route for probe (tried GET /__posthog_verify__/raise)"
    )


def test_no_root_route_still_browses_root() -> None:
    planned = plan(load_scenario(), (Route("/hello", GET, "hello"),), None)
    steps = _by_name(planned)
    assert steps["anon_browse"].path == "/"
    assert steps["anon_browse"].why == "always sent, even without a matching rule"
    assert "dashboard" in planned.skipped


def test_api_action_falls_back_to_a_content_form_page() -> None:
    routes = (Route("/", GET, "index"), Route("/notes/new", BOTH, "notes.new"))
    step = _by_name(plan(load_scenario(), routes, None))["api_action"]
    assert (step.method, step.path, step.form, step.json) == ("GET", "/notes/new", True, None)


def test_manifest_overrides_and_adds() -> None:
    manifest = Manifest(
        source=Path("/app/posthog-verify.toml"),
        signup=FormSpec("/join-us", "POST", fields={"handle": "{canary.name}"}),
        login=FormSpec("/api/session", "POST", json={"email": "{canary.email}"}),
        logout=FormSpec("/session/end", "GET"),
        steps=(
            StepSpec("dashboard", "GET", "/home"),
            StepSpec("export", "POST", "/export", kind="api", headers={"X-A": "1"}),
        ),
        error_paths=("/boom", "/crash"),
    )
    planned = plan(load_scenario(), CONVENTIONAL, manifest)
    steps = _by_name(planned)
    assert (steps["signup"].path, steps["signup"].form, steps["signup"].origin) == (
        "/join-us", True, "manifest",
    )  # fmt: skip
    assert steps["signup"].fields == {"handle": "{canary.name}"}
    assert steps["signup"].why == "posthog-verify.toml [signup]"
    assert (steps["login"].path, steps["login"].form) == ("/api/session", False)
    assert steps["login"].json == {"email": "{canary.email}"}
    assert steps["logout"].path == steps["logout_final"].path == "/session/end"
    assert steps["dashboard"].path == "/home"
    assert [s.name for s in planned][-1] == "export"  # appended after the default steps
    assert steps["export"].headers == {"X-A": "1"}
    errors = [s for s in planned if s.kind == "error"]
    assert [(s.name, s.path, s.anonymous, s.expect) for s in errors] == [
        ("errors:/boom", "/boom", True, "5xx"),
        ("errors:/crash", "/crash", True, "5xx"),
    ]
    assert planned.skipped == {}


@pytest.mark.parametrize(
    ("routes", "role", "rule"),
    [
        ((Route("/register", BOTH, "r"), Route("/api/register", POST, "a")), "signup", "/register"),
        ((Route("/auth/sign-in", BOTH, "x"),), "login", "/auth/sign-in"),
        ((Route("/users/<int:id>/login", BOTH, "login"),), "login", None),
        ((Route("/logout", POST, "logout"),), "logout", "/logout"),
        ((Route("/loginhelp", GET, "help"),), "login", None),
        (
            (Route("/account/create", BOTH, "account.create"), Route("/", GET, "index")),
            "signup",
            "/account/create",
        ),
        ((Route("/account/settings", BOTH, "account.settings"),), "signup", None),
    ],
)
def test_find_role_route(routes: tuple[Route, ...], role: str, rule: str | None) -> None:
    found = find_role_route(routes, role)
    assert (found.rule if found else None) == rule


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        ("/notes/<int:id>", "/notes/3", True),
        ("/notes/<int:id>", "/notes/3/edit", False),
        ("/files/<path:name>", "/files/a/b.txt", True),
        ("/signup/", "/signup", True),
        ("/signup", "/signup?next=/", True),
        ("/", "/x", False),
    ],
)
def test_route_matches(rule: str, path: str, matches: bool) -> None:
    assert Route(rule, GET, "e").matches(path) is matches


def test_routes_from_app_and_json_round_trip() -> None:
    app = Flask("planning")
    app.add_url_rule("/signup", "signup", lambda: "", methods=["GET", "POST"])
    routes = routes_from_app(app)
    assert Route("/signup", BOTH, "signup") in routes
    assert all("HEAD" not in r.methods and "OPTIONS" not in r.methods for r in routes)
    assert [Route.from_jsonable(r.to_jsonable()) for r in routes] == list(routes)


def test_a_json_only_auth_api_is_planned_as_json_posts() -> None:
    routes = (
        Route("/", GET, "index"),
        Route("/api/auth/register", POST, "api.register"),
        Route("/api/auth/login", POST, "api.login"),
    )
    steps = {s.name: s for s in plan(load_scenario(), routes)}
    signup = steps["signup"]
    assert (signup.method, signup.path, signup.form) == ("POST", "/api/auth/register", False)
    assert signup.json["email"] == "{canary.email}"
    assert steps["login"].path == "/api/auth/login"
