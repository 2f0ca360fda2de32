"""HTML forms in the app's own pages: find them, and fill them as a user would.

Parsing uses the standard library's :class:`html.parser.HTMLParser` (no new
dependency), which tolerates the sloppy HTML templates often produce::

    forms = find_forms(page_html, base_path="/auth/signup")
    signup = forms[0]
    data = fill(signup, canaries)   # {'csrf_token': '<kept>', 'email': 'pv.x@example.com', ...}
    # POST data to signup.action

Hidden fields keep their value: that is how a CSRF token travels back.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import typing as t
import urllib.parse
from html.parser import HTMLParser

from harness.scenario.canary import name_parts
from harness.scenario.canary import username

if t.TYPE_CHECKING:
    from harness.run import Canaries

# Inputs a browser never submits as data.
_UNSUBMITTED_TYPES = frozenset({"file", "image", "reset", "button"})
_SUBMIT_TYPES = frozenset({"submit"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "legend"})


@dataclasses.dataclass(frozen=True)
class Field:
    """One named control of a form.

    :param tag: ``input``, ``select`` or ``textarea``.
    :param type: the input type, lower case (``text`` by default; ``select`` and
        ``textarea`` for those tags).
    :param value: the value the page gives it: an input's ``value``, a
        textarea's text, a select's selected (else first) option.
    :param checked: for checkboxes and radios.
    """

    name: str
    tag: str
    type: str
    value: str = ""
    checked: bool = False
    required: bool = False


@dataclasses.dataclass(frozen=True)
class SubmitButton:
    """A submit control; a browser sends its ``name=value`` when clicked."""

    name: str
    value: str


@dataclasses.dataclass(frozen=True)
class Form:
    """A ``<form>``, its action resolved against the page path.

    :param action: a path (with query) on the app; absolute URLs are reduced to
        their path, which is where a browser would send them on this host.
    :param method: ``GET`` or ``POST`` (upper case).
    """

    action: str
    method: str
    fields: tuple[Field, ...]
    submits: tuple[SubmitButton, ...] = ()
    enctype: str = "application/x-www-form-urlencoded"
    form_id: str = ""
    #: what the form says it is for: the nearest heading before it, its own
    #: headings and legends, and its submit buttons' text (``"Sign up Create account"``).
    #: Labels and paragraphs are left out: a login form's "New here? Sign up" hint
    #: must not make it a signup. (Descriptions, not identity: not compared.)
    text: str = dataclasses.field(default="", compare=False)
    #: the submit buttons' own text and values (``"Create account"``).
    submit_text: str = dataclasses.field(default="", compare=False)

    def field_types(self) -> list[str]:
        return [field.type for field in self.fields]

    @property
    def has_password(self) -> bool:
        return "password" in self.field_types()

    @property
    def asks_for_credentials(self) -> bool:
        """A password together with who is signing in (email or username): a
        login or signup form, not a "change your password" form on a page
        that only a logged-in user sees."""
        kinds = {field_kind(field) for field in self.fields}
        return "password" in kinds and bool(kinds & {"email", "username"})


def resolve_action(action: str | None, base_path: str) -> str:
    """Where a form posts, as a path: a browser resolves ``action`` against the
    page URL, and an empty action means the page itself."""
    base = urllib.parse.urljoin("http://app.invalid/", base_path)
    target = urllib.parse.urljoin(base, (action or "").strip())
    parts = urllib.parse.urlsplit(target)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


class _FormParser(HTMLParser):
    """Collects forms; one pass, no DOM."""

    def __init__(self, base_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_path = base_path
        self.forms: list[Form] = []
        self._form: dict[str, str] | None = None
        self._fields: list[Field] = []
        self._submits: list[SubmitButton] = []
        self._select: dict[str, t.Any] | None = None
        self._option: dict[str, t.Any] | None = None
        self._textarea: dict[str, t.Any] | None = None
        self._text: list[str] = []
        self._submit_text: list[str] = []
        self._in_button = False
        self._heading: list[str] | None = None  # inside an h1-h6 or legend
        self._last_heading = ""  # the latest heading outside any form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag in _HEADINGS:
            self._heading = []
        if tag == "form":
            self._close_form()
            self._form = attributes
            self._text = [self._last_heading] if self._last_heading else []
        elif self._form is None:
            return
        elif tag == "input":
            self._input(attributes)
            self._words(attributes)
        elif tag == "button":
            is_submit = attributes.get("type", "submit").lower() == "submit"
            self._in_button = is_submit
            if is_submit and attributes.get("name"):
                self._submits.append(SubmitButton(attributes["name"], attributes.get("value", "")))
        elif tag == "select" and "disabled" not in attributes:
            self._select = {"attrs": attributes, "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "text": ""}
            if "selected" in attributes:
                self._select["selected"] = self._option
            self._select["options"].append(self._option)
        elif tag == "textarea" and "disabled" not in attributes:
            self._textarea = {"attrs": attributes, "text": ""}

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def _words(self, attrs: dict[str, str]) -> None:
        """A submit input's visible words: its value."""
        kind = attrs.get("type", "text").lower()
        if kind in ("submit", "image") and attrs.get("value"):
            self._text.append(attrs["value"])
            self._submit_text.append(attrs["value"])

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._form is not None and self._in_button:
            self._text.append(data)
            self._submit_text.append(data)
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False
        if tag in _HEADINGS and self._heading is not None:
            heading = " ".join("".join(self._heading).split())
            if self._form is not None:
                self._text.append(heading)
            else:
                self._last_heading = heading
            self._heading = None
        if tag == "form":
            self._close_form()
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            self._close_select()
        elif tag == "textarea" and self._textarea is not None:
            attrs = self._textarea["attrs"]
            if attrs.get("name"):
                self._fields.append(
                    Field(
                        name=attrs["name"],
                        tag="textarea",
                        type="textarea",
                        # the parser keeps the newline browsers drop after <textarea>
                        value=self._textarea["text"].removeprefix("\n"),
                        required="required" in attrs,
                    )
                )
            self._textarea = None

    def close(self) -> None:
        super().close()
        self._close_form()

    def _input(self, attrs: dict[str, str]) -> None:
        kind = attrs.get("type", "text").lower() or "text"
        name = attrs.get("name", "")
        if not name or "disabled" in attrs or kind in _UNSUBMITTED_TYPES:
            return
        if kind in _SUBMIT_TYPES:
            self._submits.append(SubmitButton(name, attrs.get("value", "")))
            return
        default = "on" if kind in ("checkbox", "radio") else ""
        self._fields.append(
            Field(
                name=name,
                tag="input",
                type=kind,
                value=attrs.get("value", default),
                checked="checked" in attrs,
                required="required" in attrs,
            )
        )

    def _close_select(self) -> None:
        assert self._select is not None
        attrs = self._select["attrs"]
        options = self._select["options"]
        chosen = self._select["selected"] or (options[0] if options else None)
        if attrs.get("name"):
            value = ""
            if chosen is not None:
                value = chosen["value"] if chosen["value"] is not None else chosen["text"].strip()
            self._fields.append(Field(name=attrs["name"], tag="select", type="select", value=value))
        self._select = None
        self._option = None

    def _close_form(self) -> None:
        if self._form is None:
            return
        if self._select is not None:
            self._close_select()
        attrs = self._form
        self.forms.append(
            Form(
                action=resolve_action(attrs.get("action"), self.base_path),
                method=(attrs.get("method") or "GET").upper(),
                fields=tuple(self._fields),
                submits=tuple(self._submits),
                enctype=attrs.get("enctype") or "application/x-www-form-urlencoded",
                form_id=attrs.get("id", ""),
                text=" ".join(" ".join(self._text).split()),
                submit_text=" ".join(" ".join(self._submit_text).split()),
            )
        )
        self._form, self._fields, self._submits = None, [], []
        self._text, self._submit_text, self._in_button = [], [], False


def find_forms(html: str, base_path: str) -> list[Form]:
    """Every ``<form>`` in ``html``, in document order.

    :param base_path: the path of the page the HTML came from; relative
        actions are resolved against it as a browser would.
    """
    parser = _FormParser(base_path)
    parser.feed(html)
    parser.close()
    return parser.forms


_META_CSRF = re.compile(
    r"""<meta\s+[^>]*name=["'](?:csrf[-_]token|_csrf|csrf)["'][^>]*content=["']([^"']+)["']""",
    re.IGNORECASE,
)


def csrf_token(html: str) -> str | None:
    """A CSRF token a page exposes for scripts (``<meta name="csrf-token">``)
    or in a hidden ``csrf_token`` field: sent as ``X-CSRFToken`` with JSON calls,
    as Flask-WTF's ``CSRFProtect`` expects."""
    match = _META_CSRF.search(html)
    if match:
        return match.group(1)
    for form in find_forms(html, "/"):
        for field in form.fields:
            if field.type == "hidden" and "csrf" in field.name.lower() and field.value:
                return field.value
    return None


# -- filling ------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def tokens(name: str) -> list[str]:
    """``user[emailAddress]`` -> ``['user', 'email', 'address']``."""
    return [part for part in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if part]


_PASSWORD = {"password", "pass", "pwd", "passwd", "passphrase", "password2"}
# A bare "login"/"identifier" field takes an email: most apps log in by email.
_EMAIL = {"email", "mail", "emailaddress", "login", "identifier"}
_FIRST = {"fname", "firstname", "givenname", "forename"}
_LAST = {"lname", "lastname", "surname", "familyname"}
_USERNAME = {"username", "handle", "userid", "nick", "nickname"}
_FULL_NAME = {"name", "fullname", "displayname", "realname"}
_PHONE = {"phone", "tel", "telephone", "mobile", "cell", "phonenumber"}
_ADDRESS = {"address", "street", "city", "addr", "address1", "address2", "line1", "line2"}
_TEXT = {
    "text", "message", "note", "notes", "content", "bio", "body",
    "comment", "description", "about", "title", "msg", "feedback",
}  # fmt: skip
_AGREE = {"terms", "agree", "accept", "tos", "consent", "remember", "privacy", "policy"}


def _joined(parts: list[str]) -> set[str]:
    """Tokens plus adjacent pairs joined, so ``first_name`` matches ``firstname``."""
    return set(parts) | {a + b for a, b in itertools.pairwise(parts)}


def field_kind(field: Field) -> str | None:
    """Which canary a field takes, from its type and name; None if none fits."""
    words = _joined(tokens(field.name))
    compact = "".join(tokens(field.name))
    if field.type == "password" or words & _PASSWORD or "passw" in compact:
        return "password"
    if field.type == "email" or words & _EMAIL or "email" in compact:
        return "email"
    for kind, names in (("first_name", _FIRST), ("last_name", _LAST), ("username", _USERNAME)):
        if words & names:
            return kind
    if words & _FULL_NAME:
        return "name"
    if field.type == "tel" or words & _PHONE or "phone" in compact:
        return "phone"
    if words & _ADDRESS:
        return "address"
    if field.type == "textarea" or words & _TEXT:
        return "text"
    return None


def _canary_value(kind: str, canaries: Canaries) -> str:
    first, last = name_parts(canaries)
    values = {
        "password": canaries.password,
        "email": canaries.email,
        "first_name": first,
        "last_name": last,
        "username": username(canaries),
        "name": canaries.name,
        "phone": canaries.phone,
        "address": canaries.address,
        "text": canaries.text,
    }
    return values[kind]


# A value for types no canary fits, so ``required`` validation passes.
_TYPE_DEFAULTS = {"number": "1", "range": "1", "date": "2000-01-01", "url": "https://example.com/"}


def _fill_field(field: Field, canaries: Canaries) -> str | None:
    """The value to submit for one field, None to leave it out (as a browser
    leaves out an unchecked box)."""
    if field.type == "hidden":
        return field.value
    if field.type == "checkbox":
        agrees = _joined(tokens(field.name)) & _AGREE
        return field.value if field.checked or agrees else None
    if field.type == "select":
        return field.value
    kind = field_kind(field)
    if kind is not None:
        return _canary_value(kind, canaries)
    if field.value:
        return field.value
    return _TYPE_DEFAULTS.get(field.type, canaries.text)


def fill(form: Form, canaries: Canaries) -> dict[str, str]:
    """The data a user would submit: canaries by field name and type, hidden
    values (CSRF tokens) kept, agreement boxes ticked, the first named submit
    button included (some views check which button was pressed)."""
    data: dict[str, str] = {}
    for field in form.fields:
        if field.type == "radio":
            if field.name not in data:  # the checked radio of a group, else the first
                group = [f for f in form.fields if f.name == field.name]
                data[field.name] = next((f for f in group if f.checked), group[0]).value
            continue
        value = _fill_field(field, canaries)
        if value is not None:
            data[field.name] = value
    if form.submits:
        data.setdefault(form.submits[0].name, form.submits[0].value)
    return data


# -- choosing -----------------------------------------------------------------


def _kinds(form: Form) -> list[str | None]:
    return [field_kind(field) for field in form.fields if field.type not in ("hidden",)]


def _action_words(form: Form) -> set[str]:
    words = tokens(form.action.split("?")[0])
    return _joined(words)


def _signup_score(form: Form) -> float:
    kinds = _kinds(form)
    identity = {"email", "name", "first_name", "last_name", "username"} & set(kinds)
    score = 2.0 * bool(identity) + 2 * (kinds.count("password") >= 2) + len(identity)
    score -= 3 * bool(_action_words(form) & {"login", "signin"})
    return score + len(form.fields) / 100


def _login_score(form: Form) -> float:
    kinds = _kinds(form)
    score = 2.0 * bool({"email", "username"} & set(kinds)) - 2 * (kinds.count("password") >= 2)
    score += 2 * bool(_action_words(form) & {"login", "signin"})
    score -= 3 * bool(_action_words(form) & {"signup", "register", "join"})
    return score - len(form.fields) / 100


def _content_score(form: Form) -> float:
    types = form.field_types()
    if form.method != "POST" or form.has_password:
        return 0.0
    if _action_words(form) & {"logout", "signout", "search"}:
        return 0.0
    return 2.0 * ("textarea" in types) + any(t_ in ("text", "") for t_ in types)


def choose_form(forms: t.Sequence[Form], purpose: str) -> Form | None:
    """The form on a page that serves ``purpose``: ``signup`` (a password and
    who the user is, a confirm field is a plus), ``login`` (a password and an
    email or username, the fewer fields the better), ``logout`` (its action
    says so), anything else: a POST form with text to write and no password."""
    if purpose in ("signup", "login"):
        score = _signup_score if purpose == "signup" else _login_score
        candidates = [form for form in forms if form.has_password]
        return max(candidates, key=score) if candidates else None
    if purpose == "logout":
        return next((f for f in forms if _action_words(f) & {"logout", "signout"}), None)
    scored = [(s, -i, form) for i, form in enumerate(forms) if (s := _content_score(form)) > 0]
    return max(scored, key=lambda item: item[:2])[2] if scored else None


# -- what a form is for, from its fields and its wording ----------------------

_SIGNUP_WORDING = frozenset({"signup", "register", "registration", "createaccount", "join"})
_LOGIN_WORDING = frozenset({"login", "signin", "logon"})
_PERSONAL_KINDS = frozenset({"name", "first_name", "last_name", "phone", "address"})


def _wording(text: str) -> set[str]:
    """``"Create an account"`` -> ``{'create', 'account', 'createaccount', ...}``;
    articles dropped so "create an account" and "sign-up" read as one word."""
    parts = [w for w in tokens(text) if w not in ("a", "an", "your", "the", "my", "new")]
    return _joined(parts)


def _says(text: str) -> str | None:
    """``signup``, ``login``, or None when ``text`` says neither (or both)."""
    words = _wording(text)
    signup, login = bool(words & _SIGNUP_WORDING), bool(words & _LOGIN_WORDING)
    if signup != login:
        return "signup" if signup else "login"
    return None


def form_role(form: Form) -> tuple[str, str] | None:
    """Whether a form signs a user up or logs one in, and why; None for
    neither (no password beside an email or username field).

    The fields decide first: a second password (a confirmation) or a
    personal field (name, phone, address) beside the credentials is a signup.
    Otherwise the wording does: the submit button's text, then the action's
    path, then all the form's words ("sign up", "register", "create account"
    against "log in", "sign in"). A form that says nothing either way logs in.
    """
    if not form.asks_for_credentials:
        return None
    kinds = [field_kind(f) for f in form.fields if f.type != "hidden"]
    if kinds.count("password") >= 2:
        return "signup", "a second password field (a confirmation)"
    personal = sorted(_PERSONAL_KINDS & {k for k in kinds if k})
    if personal:
        return "signup", f"a {personal[0].replace('_', ' ')} field beside the credentials"
    for source, text in (
        ("its submit button", form.submit_text),
        ("its action", form.action.split("?")[0]),
        ("its heading", form.text),
    ):
        said = _says(text)
        if said is not None:
            return said, f"{source} says {text[:60]!r}"
    return "login", "a password beside an email or username, nothing saying sign up"
