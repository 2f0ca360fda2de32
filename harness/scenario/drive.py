"""The driver: exercise an app like a user, and record every exchange.

It runs planned steps in order through a :class:`~harness.scenario.transport.Transport`
and returns what happened as :class:`harness.run.Exchange` records::

    result = drive(HttpTransport(url), plan(scenario, routes, manifest), canaries,
                   identity, identified_as=lambda index: None, timeout_s=10.0)
    result.exchanges[0].status      # 200
    result.skipped                  # {'signup': 'the app has no signup route ...'}

Decisions a check relies on:

- **One exchange per HTTP request.** Every request carries
  ``X-Posthog-Verify-Step: <index>`` and ``Exchange.index`` is that index, so
  an SDK call in the app maps to exactly one request. The driver follows up to
  5 redirects itself; each hop is its own exchange with the same ``step`` name.
  A form step is a GET of the page, then the submit, then any redirects.
- **Correlation headers follow the login state.** While nobody is logged in,
  every request sends the anonymous ``X-POSTHOG-DISTINCT-ID`` and
  ``X-POSTHOG-SESSION-ID`` (what a browser SDK's tracing headers would carry).
  After a successful signup or login (a redirect away from the form, or a 2xx
  that does not show a sign-in form again) the session header stays and
  the distinct-id header becomes ``identified_as(index)`` of the submit
  exchange (asked again with the last redirect hop if it said None); when it
  stays None, no distinct-id header is sent, as a browser SDK would not invent
  one. After logout the anonymous headers come back. Every request sends
  ``X-Forwarded-For: <canary ip>``.
- **The page after a submission carries a stale header.** The redirects a
  successful signup or login answers with are followed as the user (the
  session cookie) but with the visitor's anonymous ``X-POSTHOG-DISTINCT-ID``:
  a browser's posthog-js identifies the user only once that page has loaded.
  An app that prefers the header to the logged-in user shows it there.
- **``anonymous = true`` steps are an anonymous visitor**: anonymous headers,
  and, while a user is logged in, no session cookie either (so the probe's
  ``$exception`` belongs to the header's id, not to the logged-in user).
- **Failures.** A timeout or reset gives an exchange with ``status=None`` and
  ``error`` set, and the drive goes on; a refused connection means the app is
  gone: the drive stops, ``error`` says where, and the steps not run are in
  ``skipped``. A logout the app refuses clears the cookies, so the rest of the
  scenario really is anonymous. Steps that ran but did not do what they are
  for (no form found, the form shown again) are in ``incomplete``.
- **Every exchange says what happened to it**: ``expected`` (the step's
  ``expect`` on the request that is judged), ``decisions`` (the route or form
  chosen and where, the redirect followed, a retry as the user, a login after
  signup) and, for a request that got no answer, ``failure`` (the deadline, or
  the failed connection). The app's own exceptions are attached afterwards from
  the child's records (:func:`harness.scenario.outcomes.with_failures`).
- **Login after a signup that leaves the user logged out.** When the signup
  lands on a page that asks for credentials again (the app sends the new user
  to its login page), or the first authenticated page after it does, the
  driver logs in with the same credentials (once, before any login of the
  scenario), as step ``login_after_signup`` (kind ``login``), and then sends
  that page's request again, so the authenticated steps after the signup
  really are the user's.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t
import urllib.parse

from harness.run import LOGIN_AFTER_SIGNUP
from harness.run import Exchange
from harness.run import StepFailure
from harness.scenario.digest import digest_of
from harness.scenario.forms import Form
from harness.scenario.forms import choose_form
from harness.scenario.forms import csrf_token
from harness.scenario.forms import fill
from harness.scenario.forms import find_forms
from harness.scenario.forms import resolve_action
from harness.scenario.load import accepts
from harness.scenario.placeholders import expand
from harness.scenario.placeholders import placeholder_values
from harness.scenario.plan import PlannedStep
from harness.scenario.transport import FailureKind
from harness.scenario.transport import TransportError

if t.TYPE_CHECKING:
    from harness.run import Canaries
    from harness.scenario.canary import Identity
    from harness.scenario.transport import Transport
    from harness.scenario.transport import TransportResponse

STEP_HEADER = "X-Posthog-Verify-Step"
DISTINCT_ID_HEADER = "X-POSTHOG-DISTINCT-ID"
SESSION_ID_HEADER = "X-POSTHOG-SESSION-ID"
USER_AGENT = "Mozilla/5.0 (compatible; posthog-verify/0.1)"
MAX_REDIRECTS = 5
EXCERPT_CHARS = 500
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclasses.dataclass(frozen=True)
class DriveResult:
    """What one drive did.

    :param skipped: step -> why it left no exchange (from the plan, or not run
        because the app stopped answering).
    :param incomplete: step -> why it ran but did not do what it is for (no
        fitting form, the submission shown again, a refused logout).
    :param unexpected: steps whose answer was outside the step's ``expect``.
    :param error: set when the drive stopped early (the app is gone).
    """

    exchanges: tuple[Exchange, ...]
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    incomplete: dict[str, str] = dataclasses.field(default_factory=dict)
    unexpected: tuple[str, ...] = ()
    error: str | None = None


class _AppGone(Exception):
    pass


@dataclasses.dataclass
class _Answer:
    """The first and the final (after redirects) answer of one logical request."""

    first: Exchange
    last: Exchange
    response: TransportResponse | None


class _Driver:
    def __init__(
        self,
        transport: Transport,
        canaries: Canaries,
        identity: Identity,
        identified_as: t.Callable[[int], str | None],
        timeout_s: float,
        step_header: str,
    ) -> None:
        self.transport, self.canaries, self.identity = transport, canaries, identity
        self.identified_as, self.timeout_s, self.step_header = identified_as, timeout_s, step_header
        self.values = placeholder_values(canaries, identity)
        self.exchanges: list[Exchange] = []
        self.incomplete: dict[str, str] = {}
        self.unexpected: list[str] = []
        self.logged_in = False
        self.user_id: str | None = None
        self.last_page = ("", "/")  # (html, path) of the last HTML answer
        self.csrf: str | None = None  # the latest token any page exposed
        self.login_step: PlannedStep | None = None  # for a login after signup
        self.signed_up = False  # a signup step ended logged in (as far as we know)
        self.logged_in_again = False  # the login after signup was done (once only)
        self._pending: list[str] = []  # decisions for the next exchange

    def decide(self, decision: str, index: int | None = None) -> None:
        """Record a decision on exchange ``index``, or on the next one sent."""
        if index is None:
            self._pending.append(decision)
            return
        exchange = self.exchanges[index]
        decisions = (*exchange.decisions, decision)
        self.exchanges[index] = dataclasses.replace(exchange, decisions=decisions)

    def expect(self, index: int, expected: str) -> None:
        self.exchanges[index] = dataclasses.replace(self.exchanges[index], expected=expected)

    # -- one HTTP request ------------------------------------------------------

    def _headers(self, step: PlannedStep, as_user: bool, json_body: bool) -> dict[str, str]:
        headers = {
            self.step_header: str(len(self.exchanges)),
            "X-Forwarded-For": self.canaries.ip,
            "User-Agent": USER_AGENT,
            "Accept": "application/json" if json_body else _HTML_ACCEPT,
            SESSION_ID_HEADER: self.identity.session_id,
        }
        distinct_id = self.user_id if as_user else self.identity.distinct_id
        if distinct_id:
            headers[DISTINCT_ID_HEADER] = distinct_id
        if json_body and self.csrf:
            headers["X-CSRFToken"] = self.csrf  # Flask-WTF's CSRFProtect checks JSON too
        return headers | step.headers

    def _send(
        self,
        step: PlannedStep,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        json: t.Any = None,
        redirect_of: int | None = None,
    ) -> tuple[Exchange, TransportResponse | None]:
        """One request, recorded as one exchange."""
        as_user = self.logged_in and not step.anonymous
        stale = as_user and redirect_of is not None and step.role in ("signup", "login")
        headers = self._headers(step, as_user and not stale, json is not None)
        if stale:
            self.decide(
                f"sent as the user with the visitor's X-POSTHOG-DISTINCT-ID "
                f"{self.identity.distinct_id!r}: the page after the {step.role} is loaded "
                "before a browser's posthog-js identifies the user"
            )
        if method == "GET" and data:  # a GET form replaces the query, as browsers do
            path, data = f"{path.split('?')[0]}?{urllib.parse.urlencode(data)}", None
        started = time.monotonic()
        response, error = None, None
        try:
            response = self.transport.request(
                method,
                path,
                headers=headers,
                data=data,
                json=json,
                timeout=self.timeout_s,
                cookies=not (step.anonymous and self.logged_in),
            )
        except TransportError as failure:
            error = failure
        decisions, self._pending = tuple(self._pending), []
        if redirect_of is not None:
            decisions = (f"followed the redirect of exchange {redirect_of} to {path}", *decisions)
        exchange = Exchange(
            index=len(self.exchanges),
            step=step.name,
            kind=step.kind,
            method=method,
            path=path,
            request_headers=headers,
            status=response.status if response else None,
            response_headers=response.headers if response else {},
            body_excerpt=response.text[:EXCERPT_CHARS] if response else "",
            form=data,
            json=json,
            duration_s=round(time.monotonic() - started, 4),
            distinct_id_header=headers.get(DISTINCT_ID_HEADER),
            session_id_header=headers.get(SESSION_ID_HEADER),
            user="user" if as_user else "anonymous",
            error=str(error) if error else None,
            redirect_of=redirect_of,
            expected="2xx|3xx" if redirect_of is not None else "",
            decisions=decisions,
            failure=_no_answer(error),
            digest=digest_of(response.headers, response.text, path) if response else None,
        )
        self.exchanges.append(exchange)
        if error is not None and error.kind is FailureKind.REFUSED:
            raise _AppGone(f"the app stopped answering at exchange {exchange.index} ({step.name})")
        if response is not None and "html" in response.headers.get("Content-Type", ""):
            self.last_page = (response.text, path)
            self.csrf = csrf_token(response.text) or self.csrf
        return exchange, response

    def _fetch(
        self,
        step: PlannedStep,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        json: t.Any = None,
        on_first: t.Callable[[Exchange, TransportResponse | None], None] | None = None,
    ) -> _Answer:
        """A request and the redirects after it; ``on_first`` sees the first
        answer before any redirect is followed (a login changes the headers)."""
        first, response = self._send(step, method, path, data, json)
        if on_first is not None:
            on_first(first, response)
        last = first
        for _ in range(MAX_REDIRECTS):
            if response is None or response.status not in _REDIRECTS:
                break
            target = _redirect_target(response, path)
            if target is None:
                location = response.headers.get("Location", "")
                if location.lower().startswith("https://"):
                    self.decide(
                        f"not followed: the app redirects to {location} (it forces TLS; "
                        "the harness serves plain http)",
                        last.index,
                    )
                break
            if response.status not in (307, 308):
                method, data, json = "GET", None, None
            path = target
            last, response = self._send(step, method, path, data, json, last.index)
        return _Answer(first, last, response)

    # -- steps -------------------------------------------------------------------

    def run(self, step: PlannedStep) -> None:
        if step.role == "login":
            self.logged_in_again = True  # after any login, a sign-in form is the login's problem
        if step.form:
            self._form_step(step)
        else:
            self._plain_step(step)

    def _expand(self, template: t.Any) -> t.Any:
        if template is None:
            return None
        return expand(template, self.values)

    def _check_expect(self, step: PlannedStep, exchange: Exchange) -> None:
        self.expect(exchange.index, step.expect)
        if not accepts(step.expect, exchange.status):
            got = exchange.status if exchange.status is not None else exchange.error
            self.unexpected.append(f"{step.name}: expected {step.expect}, got {got}")

    def _plain_step(self, step: PlannedStep) -> None:
        data = self._expand(step.fields)
        body = self._expand(step.json)
        if step.method != "GET" and body is None:
            data = self._hidden_fields_for(step.path) | (data or {})
        on_first: t.Callable[[Exchange, TransportResponse | None], None] | None = None
        if step.role == "logout":
            on_first = self._logged_out
        elif step.role in ("signup", "login"):  # a JSON signup/login named by the manifest

            def on_first(first: Exchange, response: TransportResponse | None) -> None:
                self._after_submit(step, None, step.path, first, response)

        if step.why:
            self.decide(f"{step.method} {step.path}: {step.why}")
        answer = self._fetch(step, step.method, step.path, data or None, body, on_first)
        if self._guarded_probe(step, answer):
            # A login wall in front of every route: raise inside the view as
            # the logged-in user instead (the exception checks judge that one).
            as_user = dataclasses.replace(step, anonymous=False)
            self.decide(
                f"the anonymous request was redirected ({answer.first.status}, a login wall): "
                "sent again as the logged-in user"
            )
            answer = self._fetch(as_user, step.method, step.path, data or None, body)
        if self._found_logged_out(step, answer):
            # The signup seemed to log the user in, but this page asks for
            # credentials: log in, then make this step's request again.
            self._login_after_signup(answer, f"{step.name} found the user logged out")
            self._retag_as_login(answer)
            answer = self._fetch(step, step.method, step.path, data or None, body)
        self._check_expect(step, answer.first)
        if step.role in ("signup", "login") and self.logged_in:
            self._landed(step, answer, step.path)

    def _retag_as_login(self, answer: _Answer) -> None:
        """The attempt that found the user logged out belongs to the login
        after signup: it was no authenticated request, whatever the driver
        believed when it sent it (the identify checks look past it)."""
        for index in range(answer.first.index, answer.last.index + 1):
            exchange = self.exchanges[index]
            self.exchanges[index] = dataclasses.replace(
                exchange, step=LOGIN_AFTER_SIGNUP, kind="login"
            )

    def _found_logged_out(self, step: PlannedStep, answer: _Answer) -> bool:
        """An authenticated browse step after a signup (and before any login)
        that lands on a sign-in form: the signup did not keep the user logged in."""
        final = answer.response
        if final is None or step.kind != "browse" or step.anonymous or not self.logged_in:
            return False
        if not self.signed_up or self.logged_in_again:
            return False
        return any(f.asks_for_credentials for f in find_forms(final.text, answer.last.path))

    def _guarded_probe(self, step: PlannedStep, answer: _Answer) -> bool:
        """An anonymous probe redirected while a user is logged in."""
        status = answer.first.status
        anonymous_probe = step.kind == "probe" and step.anonymous and self.logged_in
        return anonymous_probe and status is not None and status in _REDIRECTS

    def _hidden_fields_for(self, path: str) -> dict[str, str]:
        """A POST without a form of its own (a logout button) takes the hidden
        fields (CSRF token) of the last page's form that posts to ``path``."""
        html, page = self.last_page
        for form in find_forms(html, page):
            if form.action.split("?")[0] == path:
                return {f.name: f.value for f in form.fields if f.type == "hidden"}
        return {}

    def _form_step(self, step: PlannedStep) -> None:
        if step.why:
            self.decide(f"form page {step.path}: {step.why}")
        page = self._fetch(step, "GET", step.path)
        self.expect(page.first.index, "2xx|3xx")
        if page.response is None:
            self.incomplete[step.name] = f"the form page {step.path} did not answer"
            return
        page_path = page.last.path
        form = choose_form(find_forms(page.response.text, page_path), step.role or step.kind)
        overrides = self._expand(step.fields) or {}
        if form is None and not overrides:
            self.incomplete[step.name] = _no_form_reason(step, page)
            return
        data = (fill(form, self.canaries) if form else {}) | overrides
        method, action = (form.method, form.action) if form else (step.method, step.path)
        self.decide(_form_decision(form, page_path, method, action, data))

        def after_submit(first: Exchange, response: TransportResponse | None) -> None:
            self._after_submit(step, form, page_path, first, response)

        answer = self._fetch(step, method, action, data, on_first=after_submit)
        self._check_expect(step, answer.first)
        if step.role in ("signup", "login") and self.logged_in:
            self._landed(step, answer, page_path)

    def _landed(self, step: PlannedStep, answer: _Answer, page_path: str) -> None:
        """After the redirects: a page asking for credentials again means nobody
        is logged in (a signup that sends the new user to the login page)."""
        final = answer.response
        forms = find_forms(final.text, page_path) if final is not None else []
        if any(f.asks_for_credentials for f in forms):
            self.logged_in, self.user_id = False, None
            if step.role == "login":
                self.incomplete[step.name] = (
                    f"after login the app showed a password form on {answer.last.path}"
                )
            elif step.role == "signup":
                self._login_after_signup(answer, "the signup left the user logged out")
            return
        if step.role == "signup":
            self.signed_up = True
        if answer.last is not answer.first and self.user_id is None:
            self.user_id = self.identified_as(answer.last.index)

    def _login_after_signup(self, answer: _Answer, why: str) -> None:
        """The signup left the user logged out: log in before the steps that
        need the user, with the scenario's login (or the form the app showed)."""
        self.logged_in_again = True
        where = answer.last.path
        login = self.login_step or PlannedStep(
            name=LOGIN_AFTER_SIGNUP,
            kind="login",
            method="GET",
            path=where,
            form=True,
            expect="2xx|3xx",
            role="login",
            why=f"the sign-in form the signup landed on ({where})",
        )
        self.decide(
            f"{why} (it landed on a sign-in form at {where}): "
            "logging in with the same credentials before the authenticated steps",
            answer.last.index,
        )
        self.run(dataclasses.replace(login, name=LOGIN_AFTER_SIGNUP, anonymous=False))

    def _after_submit(
        self,
        step: PlannedStep,
        form: Form | None,
        page_path: str,
        exchange: Exchange,
        response: TransportResponse | None,
    ) -> None:
        """Decide, from the submit's own answer, whether a user is now logged in."""
        if step.role not in ("signup", "login"):
            return
        problem = _submit_problem(response, form, page_path)
        if problem:
            self.incomplete[step.name] = problem
            return
        self.logged_in = True
        self.user_id = self.identified_as(exchange.index)

    def _logged_out(self, exchange: Exchange, response: TransportResponse | None) -> None:
        """Anonymous from the logout's own answer on (its redirect included)."""
        if not accepts("2xx|3xx", exchange.status):
            # Make sure the rest of the scenario really is anonymous.
            self.transport.clear_cookies()
            got = exchange.status if exchange.status is not None else exchange.error
            self.incomplete[exchange.step] = f"the app refused the logout ({got}); cookies cleared"
            self.decide(f"the app refused the logout ({got}): cookies cleared", exchange.index)
        self.logged_in, self.user_id = False, None


def _redirect_target(response: TransportResponse, path: str) -> str | None:
    """Where a redirect points, as a path on the app; None when off-site."""
    location = response.headers.get("Location")
    if not location:
        return None
    target = urllib.parse.urlsplit(location)
    served = urllib.parse.urlsplit(response.url)
    if target.netloc and target.netloc != served.netloc:
        return None
    if target.scheme == "https" and served.scheme == "http":
        return None  # the app forces TLS: the same path over http would redirect again
    return resolve_action(location, path)


def _submit_problem(
    response: TransportResponse | None, form: Form | None, page_path: str
) -> str | None:
    """Why a signup/login submission did not log anyone in, or None if it did."""
    if response is None:
        return "the submission got no answer"
    if response.status in _REDIRECTS:
        target = _redirect_target(response, page_path) or ""
        away = target.split("?")[0] not in (page_path, form.action if form else page_path)
        return None if away else f"the app redirected back to the form ({target})"
    if 200 <= response.status < 300:
        shown_again = any(f.asks_for_credentials for f in find_forms(response.text, page_path))
        if not shown_again:
            return None
        return f"the app answered {response.status} with the sign-in form again (rejected?)"
    return f"the app answered {response.status}"


def _no_answer(error: TransportError | None) -> StepFailure | None:
    """Why a request got no answer; the child's own record (an exception, a
    crash) replaces it later when there is one."""
    if error is None:
        return None
    if error.kind is FailureKind.TIMEOUT:
        return StepFailure(cause=f"{error.detail} (the request deadline): the request hung")
    if error.kind is FailureKind.REFUSED:
        return StepFailure(cause=f"the app no longer answered: {error.detail}")
    return StepFailure(cause=f"the connection failed without an answer: {error.detail}")


def _form_decision(
    form: Form | None, page_path: str, method: str, action: str, data: dict[str, str]
) -> str:
    names = ", ".join(sorted(data)) or "no fields"
    if form is None:
        return f"no fitting form on {page_path}: posted the manifest's fields ({names}) to {action}"
    return f"form found on {page_path}: {method} {action} with {names}"


def _no_form_reason(step: PlannedStep, page: _Answer) -> str:
    status = page.last.status
    wanted = step.role or "content"
    return f"no {wanted} form found on {page.last.path} (status {status})"


def drive(
    transport: Transport,
    steps: t.Sequence[PlannedStep],
    canaries: Canaries,
    identity: Identity,
    *,
    identified_as: t.Callable[[int], str | None],
    timeout_s: float,
    step_header: str = STEP_HEADER,
) -> DriveResult:
    """Run ``steps`` in order against the app; see the module docs for the rules.

    :param steps: a :class:`~harness.scenario.plan.Plan` (its ``skipped`` is
        carried into the result) or any sequence of planned steps.
    :param identified_as: exchange index -> the distinct id the app identified
        the user as while serving it, or None.
    :param timeout_s: the deadline of each single request.
    """
    driver = _Driver(transport, canaries, identity, identified_as, timeout_s, step_header)
    driver.login_step = next((s for s in steps if s.role == "login" and s.kind == "login"), None)
    skipped = dict(getattr(steps, "skipped", {}))
    error = None
    for position, step in enumerate(steps):
        try:
            driver.run(step)
        except _AppGone as gone:
            error = str(gone)
            for later in steps[position + 1 :]:
                skipped[later.name] = f"not run: {gone}"
            break
    return DriveResult(
        exchanges=tuple(driver.exchanges),
        skipped=skipped,
        incomplete=driver.incomplete,
        unexpected=tuple(driver.unexpected),
        error=error,
    )
