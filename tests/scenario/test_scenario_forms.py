"""Form discovery in the app's own HTML, and filling forms as a user would."""

from __future__ import annotations

import pytest

from harness.scenario.canary import make_canaries
from harness.scenario.forms import Field
from harness.scenario.forms import Form
from harness.scenario.forms import SubmitButton
from harness.scenario.forms import choose_form
from harness.scenario.forms import csrf_token
from harness.scenario.forms import field_kind
from harness.scenario.forms import fill
from harness.scenario.forms import find_forms

CANARIES = make_canaries("formtest")


@pytest.mark.parametrize(
    ("html", "base", "expected"),
    [
        pytest.param(
            '<form method="post" action="/signup"><input name="email" type="email" required>'
            '<input type="hidden" name="csrf_token" value="tok123"></form>',
            "/signup",
            Form(
                "/signup",
                "POST",
                (
                    Field("email", "input", "email", required=True),
                    Field("csrf_token", "input", "hidden", "tok123"),
                ),
            ),
            id="inputs-and-hidden-csrf",
        ),
        pytest.param(
            "<form><input name=q></form>",
            "/search/page?x=1",
            Form("/search/page?x=1", "GET", (Field("q", "input", "text"),)),
            id="no-action-is-the-page-url-and-method-defaults-to-get",
        ),
        pytest.param(
            '<form action="register" method="POST"><input name="a" value="1"></form>',
            "/auth/login",
            Form("/auth/register", "POST", (Field("a", "input", "text", "1"),)),
            id="relative-action",
        ),
        pytest.param(
            '<form action="http://localhost:5000/x?next=%2F"></form>',
            "/",
            Form("/x?next=%2F", "GET", ()),
            id="absolute-action-keeps-path-and-query",
        ),
        pytest.param(
            '<form method=post><select name="plan"><option value="free">Free</option>'
            "<option>Pro</option></select>"
            '<select name="tier"><option value="a">A</option><option value="b" selected>B'
            "</option></select><select name=empty></select></form>",
            "/",
            Form(
                "/",
                "POST",
                (
                    Field("plan", "select", "select", "free"),
                    Field("tier", "select", "select", "b"),
                    Field("empty", "select", "select", ""),
                ),
            ),
            id="selects-first-or-selected-option",
        ),
        pytest.param(
            '<form method=post><textarea name="bio">\nhello &amp; bye</textarea></form>',
            "/",
            Form("/", "POST", (Field("bio", "textarea", "textarea", "hello & bye"),)),
            id="textarea-text-entities-decoded",
        ),
        pytest.param(
            "<form method=post><input type=checkbox name=terms><input type=radio name=r value=x>"
            "<input type=radio name=r value=y checked><input type=file name=f>"
            '<input name=off disabled><input value="no name"></form>',
            "/",
            Form(
                "/",
                "POST",
                (
                    Field("terms", "input", "checkbox", "on"),
                    Field("r", "input", "radio", "x"),
                    Field("r", "input", "radio", "y", checked=True),
                ),
            ),
            id="checkbox-radio-skips-file-disabled-unnamed",
        ),
        pytest.param(
            '<form method=post><input type=submit name=go value="Go">'
            "<button name=action value=save>Save</button><button type=button name=x>X</button>"
            "<button>unnamed</button></form>",
            "/",
            Form("/", "POST", (), (SubmitButton("go", "Go"), SubmitButton("action", "save"))),
            id="submit-buttons",
        ),
        pytest.param(
            "<form method=post action=/a><input name=one></form><input name=outside>"
            "<form method=post action=/b><input name=two>",
            "/",
            [
                Form("/a", "POST", (Field("one", "input", "text"),)),
                Form("/b", "POST", (Field("two", "input", "text"),)),
            ],
            id="multiple-forms-unclosed-last-and-stray-input",
        ),
        pytest.param("<p>no forms</p>", "/", [], id="none"),
    ],
)
def test_find_forms(html: str, base: str, expected: Form | list[Form]) -> None:
    assert find_forms(html, base) == (expected if isinstance(expected, list) else [expected])


@pytest.mark.parametrize(
    ("name", "type_", "kind"),
    [
        ("email", "text", "email"),
        ("contact", "email", "email"),
        ("user[emailAddress]", "text", "email"),
        ("login", "text", "email"),
        ("password", "password", "password"),
        ("pwd", "text", "password"),
        ("confirm_password", "password", "password"),
        ("passwordRepeat", "password", "password"),
        ("password2", "password", "password"),
        ("first_name", "text", "first_name"),
        ("lastName", "text", "last_name"),
        ("surname", "text", "last_name"),
        ("username", "text", "username"),
        ("user_name", "text", "username"),
        ("name", "text", "name"),
        ("full_name", "text", "name"),
        ("phone", "text", "phone"),
        ("mobile_number", "text", "phone"),
        ("contact", "tel", "phone"),
        ("street_address", "text", "address"),
        ("city", "text", "address"),
        ("message", "text", "text"),
        ("anything", "textarea", "text"),
        ("company", "text", None),
    ],
)
def test_field_kind(name: str, type_: str, kind: str | None) -> None:
    tag = "textarea" if type_ == "textarea" else "input"
    assert field_kind(Field(name, tag, type_)) == kind


def test_fill_uses_canaries_and_keeps_hidden_values() -> None:
    form = Form(
        "/signup",
        "POST",
        (
            Field("csrf_token", "input", "hidden", "tok"),
            Field("email", "input", "email"),
            Field("first_name", "input", "text"),
            Field("last_name", "input", "text"),
            Field("username", "input", "text"),
            Field("phone", "input", "tel"),
            Field("address", "input", "text"),
            Field("bio", "textarea", "textarea"),
            Field("password", "input", "password"),
            Field("password_confirm", "input", "password"),
            Field("plan", "select", "select", "free"),
            Field("agree_terms", "input", "checkbox", "yes"),
            Field("newsletter", "input", "checkbox", "on"),
            Field("remember", "input", "checkbox", "1", checked=True),
            Field("color", "input", "radio", "red"),
            Field("color", "input", "radio", "blue", checked=True),
            Field("age", "input", "number"),
            Field("company", "input", "text"),
            Field("country", "input", "text", "US"),
        ),
        (SubmitButton("action", "signup"), SubmitButton("other", "x")),
    )
    assert fill(form, CANARIES) == {
        "csrf_token": "tok",
        "email": CANARIES.email,
        "first_name": "Canaforma",
        "last_name": "Formtestson",
        "username": "formtestson",
        "phone": CANARIES.phone,
        "address": CANARIES.address,
        "bio": CANARIES.text,
        "password": CANARIES.password,
        "password_confirm": CANARIES.password,
        "plan": "free",
        "agree_terms": "yes",
        "remember": "1",
        "color": "blue",
        "age": "1",
        "company": CANARIES.text,
        "country": "US",
        "action": "signup",
    }


def test_unchecked_radio_group_takes_the_first() -> None:
    form = Form("/", "POST", (Field("r", "input", "radio", "a"), Field("r", "input", "radio", "b")))
    assert fill(form, CANARIES) == {"r": "a"}


SIGNUP = Form(
    "/signup",
    "POST",
    (
        Field("email", "input", "email"),
        Field("name", "input", "text"),
        Field("password", "input", "password"),
        Field("confirm", "input", "password"),
    ),
)
LOGIN = Form(
    "/login", "POST", (Field("email", "input", "email"), Field("password", "input", "password"))
)
SEARCH = Form("/search", "GET", (Field("q", "input", "text"),))
NOTE = Form("/notes", "POST", (Field("body", "textarea", "textarea"),))
LOGOUT = Form("/auth/logout", "POST", (Field("csrf", "input", "hidden", "t"),))


@pytest.mark.parametrize(
    ("forms", "purpose", "chosen"),
    [
        ([SEARCH, LOGIN, SIGNUP], "signup", SIGNUP),
        ([SEARCH, SIGNUP, LOGIN], "login", LOGIN),
        ([SEARCH, LOGIN], "signup", LOGIN),  # the only password form
        ([SEARCH], "login", None),
        ([LOGOUT, SEARCH, NOTE], "api", NOTE),
        ([SEARCH, LOGIN, LOGOUT], "api", None),
        ([SEARCH, LOGOUT], "logout", LOGOUT),
    ],
)
def test_choose_form(forms: list[Form], purpose: str, chosen: Form | None) -> None:
    assert choose_form(forms, purpose) is chosen


@pytest.mark.parametrize(
    ("html", "token"),
    [
        ('<head><meta name="csrf-token" content="abc"></head>', "abc"),
        ('<form><input type="hidden" name="csrf_token" value="def"></form>', "def"),
        ("<form><input name=x></form>", None),
    ],
)
def test_csrf_token(html: str, token: str | None) -> None:
    assert csrf_token(html) == token


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<form method="post"><input type="email" name="email">'
            '<input type="password" name="password"></form>',
            True,
            id="login-by-email",
        ),
        pytest.param(
            '<form method="post"><input name="username"><input type="password" name="pw"></form>',
            True,
            id="login-by-username",
        ),
        pytest.param(
            '<form method="post"><input type="password" name="current_password">'
            '<input type="password" name="new_password"></form>',
            False,
            id="change-password-on-a-dashboard",
        ),
    ],
)
def test_which_forms_ask_for_credentials(html: str, expected: bool) -> None:
    (form,) = find_forms(html, "/dashboard")
    assert form.asks_for_credentials is expected
