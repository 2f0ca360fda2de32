"""The crawl: signup and login forms found on the pages a visitor reaches from /,
bounded, same origin, never a logout link; and the planner's use of it."""

from __future__ import annotations

import pytest

from harness.scenario.crawl import Fetch
from harness.scenario.crawl import Page
from harness.scenario.crawl import crawl
from harness.scenario.crawl import followable
from harness.scenario.crawl import links
from harness.scenario.forms import find_forms
from harness.scenario.forms import form_role
from harness.scenario.load import load_scenario
from harness.scenario.plan import Route
from harness.scenario.plan import plan_app

LOGIN_ON_LANDING = """<h1>Members, come in</h1>
<a href="/about">About</a> <a href="/members/new">Create an account</a>
<form method="post" action="/"><input type="email" name="email">
<input type="password" name="password"><p>New here? Sign up above.</p>
<button type="submit">Enter</button></form>"""
SIGNUP_PAGE = """<form method="post"><input type="email" name="email">
<input name="nickname"><input type="password" name="password">
<input type="password" name="password_confirm">
<input type="submit" value="Become a member"></form>"""


def _role(html: str) -> tuple[str, str] | None:
    (form,) = find_forms(html, "/")
    return form_role(form)


@pytest.mark.parametrize(
    ("html", "role", "why"),
    [
        pytest.param(LOGIN_ON_LANDING, "login", "nothing saying sign up", id="hint-is-not-wording"),
        pytest.param(SIGNUP_PAGE, "signup", "a second password field", id="confirmation"),
        pytest.param(
            "<form><input name=email><input name=full_name><input type=password name=pw></form>",
            "signup",
            "a name field beside the credentials",
            id="name-field",
        ),
        pytest.param(
            "<form><input name=username><input type=password name=pw>"
            "<button>Create your account</button></form>",
            "signup",
            "its submit button says 'Create your account'",
            id="submit-wording",
        ),
        pytest.param(
            "<h2>Register</h2><form><input type=email name=e><input type=password name=p>"
            "<button>Go</button></form>",
            "signup",
            "its heading says 'Register Go'",
            id="heading-before-the-form",
        ),
        pytest.param(
            "<form action=/session/sign-in><input name=email><input type=password name=p>"
            "<button>Go</button></form>",
            "login",
            "its action says '/session/sign-in'",
            id="action-wording",
        ),
        pytest.param(
            "<form><input name=username><input type=password name=p>"
            "<input type=submit value='Log in'></form>",
            "login",
            "its submit button says 'Log in'",
            id="login-button",
        ),
    ],
)
def test_form_role_from_fields_and_wording(html: str, role: str, why: str) -> None:
    found = _role(html)
    assert found is not None
    assert found[0] == role
    assert why in found[1]


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<form><input type=password name=new_password></form>", id="password-only"),
        pytest.param("<form><textarea name=text></textarea></form>", id="content"),
        pytest.param("<form><input name=q><button>Sign up for news</button></form>", id="news"),
    ],
)
def test_forms_without_credentials_have_no_role(html: str) -> None:
    assert _role(html) is None


def test_links_stay_on_the_app_and_away_from_logout() -> None:
    html = """<a href="/about">About</a> <a href="team">Team</a> <a href="https://x.test/">x</a>
    <a href="//cdn.test/a">cdn</a> <a href="mailto:a@b.test">mail</a> <a href="#top">top</a>
    <a href="/logout">Bye</a> <a href="/session/end">Log out</a> <a href="/static/app.css">css</a>
    <a href="/__posthog_verify__/raise">probe</a> <a href="/about">again</a>
    <a href="/items/3/delete">Remove</a> <a href="/search?q=a">search</a>"""
    assert links(html, "/company/") == ["/about", "/company/team", "/search?q=a"]


@pytest.mark.parametrize(
    ("path", "text", "ok"),
    [
        ("/signout", "", False),
        ("/account", "Sign out", False),
        ("/account/deactivate", "", False),
        ("/members/new", "Create an account", True),
        ("/favicon.ico", "", False),
    ],
)
def test_followable(path: str, text: str, ok: bool) -> None:
    assert followable(path, text) is ok


def _site(pages: dict[str, str | Page]) -> tuple[list[str], Fetch]:
    fetched: list[str] = []

    def fetch(path: str) -> Page | None:
        fetched.append(path)
        page = pages.get(path)
        if page is None:
            return Page(404, "text/html", "not found")
        return page if isinstance(page, Page) else Page(200, "text/html; charset=utf-8", page)

    return fetched, fetch


def test_crawl_finds_login_on_landing_and_signup_one_link_away() -> None:
    fetched, fetch = _site(
        {"/": LOGIN_ON_LANDING, "/about": "<p>about</p>", "/members/new": SIGNUP_PAGE}
    )
    result = crawl(fetch)
    assert result.pages == ("/", "/about", "/members/new")
    assert fetched == ["/", "/about", "/members/new"]
    login, signup = result.forms["login"], result.forms["signup"]
    assert (login.page, login.action, login.method, login.fields) == (
        "/",
        "/",
        "POST",
        ("email", "password"),
    )
    assert signup.page == "/members/new"
    assert signup.describe().startswith("a signup form on /members/new (fields email, nickname")


def test_crawl_is_bounded_and_stops_when_both_are_found() -> None:
    chain = {f"/p{i}": f'<a href="/p{i + 1}">next</a>' for i in range(30)}
    fetched, fetch = _site({"/": '<a href="/p0">start</a>', **chain})
    assert len(crawl(fetch, max_pages=10).pages) == 10
    assert len(fetched) == 10
    fetched, fetch = _site({"/": LOGIN_ON_LANDING + SIGNUP_PAGE, "/about": "x"})
    assert crawl(fetch).pages == ("/",)


def test_crawl_follows_a_redirect_on_the_app_only() -> None:
    fetched, fetch = _site(
        {
            "/": Page(302, "text/html", "", "/auth/welcome"),
            "/auth/welcome": LOGIN_ON_LANDING,
        }
    )
    assert crawl(fetch).forms["login"].page == "/auth/welcome"
    fetched, fetch = _site({"/": Page(302, "text/html", "", "https://sso.example.test/")})
    assert crawl(fetch).pages == ("/",)
    assert fetched == ["/"]


def test_crawl_reads_no_answer_and_no_error_page() -> None:
    result = crawl(lambda path: None)
    assert (result.pages, result.forms) == (("/",), {})


ROUTES_LOGIN_ON_SLASH = (
    Route("/", frozenset({"GET", "POST"}), "landing"),
    Route("/members/new", frozenset({"GET", "POST"}), "new_member"),
    Route("/members/logout", frozenset({"GET"}), "leave"),
)


def test_plan_places_login_where_the_crawl_found_it() -> None:
    _, fetch = _site({"/": LOGIN_ON_LANDING, "/members/new": SIGNUP_PAGE})
    planned = plan_app(load_scenario(), ROUTES_LOGIN_ON_SLASH, None, fetch=fetch)
    by_name = {step.name: step for step in planned}
    assert (by_name["login"].path, by_name["login"].form) == ("/", True)
    assert by_name["login"].why.startswith("crawl: a login form on / (fields email, password")
    assert by_name["signup"].path == "/members/new"
    assert "login" not in planned.skipped
    assert planned.crawled is not None


def test_plan_does_not_crawl_when_the_routes_say_it_all() -> None:
    routes = (
        Route("/", frozenset({"GET"}), "index"),
        Route("/signup", frozenset({"GET", "POST"}), "signup"),
        Route("/login", frozenset({"GET", "POST"}), "login"),
    )
    fetched, fetch = _site({})
    planned = plan_app(load_scenario(), routes, None, fetch=fetch)
    assert fetched == []
    assert planned.crawled is None


def test_a_step_still_unplaced_says_what_the_crawl_read() -> None:
    _, fetch = _site({"/": '<a href="/about">About</a>', "/about": "<p>no forms</p>"})
    routes = (Route("/", frozenset({"GET"}), "index"),)
    planned = plan_app(load_scenario(), routes, None, fetch=fetch)
    assert planned.skipped["login"].startswith("the app has no login route")
    assert planned.skipped["login"].endswith(
        "; no login form on the 2 page(s) crawled from / (/, /about)"
    )
