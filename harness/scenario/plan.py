"""Planning: mapping a scenario's steps onto the routes one app really has.

The driver never guesses a URL: the planner reads the app's ``url_map`` (as
:class:`Route` records), resolves each step's candidate paths, finds signup,
login and logout by convention when the candidates miss, and applies the app's
manifest. A step it cannot place is left out with the reason, so a check can
say "skip: the app has no signup route" instead of failing::

    routes = routes_from_app(app)
    planned = plan(load_scenario(), routes, manifest)
    planned.skipped          # {'signup': 'the app has no signup route (tried ...)'}
    [s.path for s in planned]

Manifest precedence: ``[signup]``/``[login]``/``[logout]`` replace the
convention for every step with that role; ``[[steps]]`` replace the scenario
step of the same name or are appended after the default steps (as the manifest
format documents); ``[errors] paths`` become one ``error`` step each. Manifest
paths are sent even when no rule matches them: the user named them.

When no rule places signup or login, :func:`plan_app` crawls the pages a
visitor reaches from ``/`` (:mod:`harness.scenario.crawl`) and places the step
on the page that shows such a form (a login form on the landing page)::

    planned = plan_app(load_scenario(), routes, manifest, fetch=fetcher(transport, 5.0))
    planned.crawled.forms["login"].page     # "/"
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import typing as t

from harness.scenario.crawl import CrawlResult
from harness.scenario.crawl import crawl
from harness.scenario.forms import tokens

if t.TYPE_CHECKING:
    from flask import Flask

    from harness.scenario.crawl import Fetch
    from harness.scenario.crawl import FoundForm
    from harness.scenario.load import Scenario
    from harness.scenario.load import Step
    from harness.subject.manifest import FormSpec
    from harness.subject.manifest import Manifest
    from harness.subject.manifest import StepSpec

ROLE_WORDS: dict[str, frozenset[str]] = {
    "signup": frozenset({"signup", "register", "registration", "join", "createaccount"}),
    "login": frozenset({"login", "signin"}),
    "logout": frozenset({"logout", "signout"}),
}
_FORM_ROLES = ("signup", "login")
_CONVERTER = re.compile(r"<(?:(\w+)(?:\(.*?\))?:)?\w+>")


def _rule_regex(rule: str) -> str:
    """A Werkzeug rule as a regex: ``<path:x>`` spans segments, others one."""
    parts, position = [], 0
    for match in _CONVERTER.finditer(rule):
        parts.append(re.escape(rule[position : match.start()]))
        parts.append(".+" if match.group(1) == "path" else "[^/]+")
        position = match.end()
    parts.append(re.escape(rule[position:]))
    return "".join(parts)


@dataclasses.dataclass(frozen=True)
class Route:
    """One rule of the app's ``url_map``; ``methods`` without HEAD/OPTIONS."""

    rule: str
    methods: frozenset[str]
    endpoint: str

    def allows(self, method: str) -> bool:
        return method.upper() in self.methods

    @property
    def literal(self) -> bool:
        return "<" not in self.rule

    def matches(self, path: str) -> bool:
        """Whether a request to ``path`` reaches this rule (converters match
        any segment; a trailing slash is forgiven, as Werkzeug redirects it)."""
        pattern = _rule_regex(self.rule).rstrip("/") + "/?"
        return re.fullmatch(pattern, path.split("?")[0]) is not None

    def to_jsonable(self) -> dict[str, t.Any]:
        return {"rule": self.rule, "methods": sorted(self.methods), "endpoint": self.endpoint}

    @classmethod
    def from_jsonable(cls, data: t.Mapping[str, t.Any]) -> Route:
        methods = frozenset(m.upper() for m in data.get("methods", ())) - {"HEAD", "OPTIONS"}
        return cls(data["rule"], methods, data.get("endpoint", ""))


def routes_from_app(app: Flask) -> tuple[Route, ...]:
    """The app's rules, for an app in this process (the child process reports
    the same records as JSON, see :meth:`Route.to_jsonable`)."""
    return tuple(
        Route(rule.rule, frozenset(rule.methods or ()) - {"HEAD", "OPTIONS"}, rule.endpoint)
        for rule in app.url_map.iter_rules()
    )


@dataclasses.dataclass(frozen=True)
class PlannedStep:
    """One step, placed on a route.

    :param path: the request path; for ``form`` steps, the page to GET first.
    :param method: the request's method (for ``form`` steps, the fallback
        submit method when the page has no fitting form but ``fields`` exist).
    :param form: GET ``path``, find the form that fits ``role``/``kind``, fill
        it, submit it; ``fields`` are merged on top of the filled values.
    :param fields: form body templates; ``json`` a JSON body template.
    :param role: ``signup``/``login`` (a success logs the user in), ``logout``.
    :param origin: ``scenario`` or ``manifest``: which placeholder syntax the
        templates use (see :mod:`harness.scenario.placeholders`).
    :param why: how the route was chosen, for reports.
    """

    name: str
    kind: str
    method: str
    path: str
    form: bool = False
    fields: dict[str, str] | None = None
    json: t.Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    anonymous: bool = False
    expect: str = "any"
    role: str | None = None
    origin: str = "scenario"
    why: str = ""


class Plan(list[PlannedStep]):
    """The planned steps in order, plus ``skipped``: step name -> why, and
    ``crawled``: what the crawl read when it ran (None when it did not)."""

    def __init__(self, steps: t.Iterable[PlannedStep] = (), skipped: dict[str, str] | None = None):
        super().__init__(steps)
        self.skipped: dict[str, str] = dict(skipped or {})
        self.crawled: CrawlResult | None = None


def _find(routes: t.Sequence[Route], path: str, method: str, *, literal: bool) -> Route | None:
    for route in routes:
        if literal and not route.literal:
            continue
        if route.matches(path) and route.allows(method):
            return route
    return None


def _name_words(name: str) -> set[str]:
    """A rule's or endpoint's words, plus each adjacent pair joined both ways:
    ``/account/create`` and ``account.create`` also say ``createaccount``."""
    parts = tokens(name)
    pairs = itertools.pairwise(parts)
    return set(parts) | {"".join(parts)} | {w for a, b in pairs for w in (a + b, b + a)}


def _role_score(route: Route, role: str) -> int:
    """How strongly a rule looks like the role's route; 0 means not at all."""
    words = ROLE_WORDS[role]
    rule_words = _name_words(route.rule) | {"".join(tokens(route.rule.rsplit("/", 1)[-1]))}
    endpoint_words = _name_words(route.endpoint)
    score = 2 * bool(rule_words & words) + bool(endpoint_words & words)
    if not score:
        return 0
    if role in _FORM_ROLES:
        score += 3 * (route.allows("GET") and route.allows("POST"))
        score -= "api" in tokens(route.rule)
    return score + route.allows("GET")


def find_role_route(routes: t.Sequence[Route], role: str) -> Route | None:
    """The app's signup/login/logout route by rule and endpoint names:
    a form role needs a page (GET) and prefers a rule that also takes POST."""
    fits = [
        r
        for r in routes
        if r.literal
        and not r.rule.startswith("/static")
        and (r.allows("GET") or (role == "logout" and r.allows("POST")))
    ]
    scored = [(s, -len(r.rule), r) for r in fits if (s := _role_score(r, role))]
    return max(scored, key=lambda item: item[:2])[2] if scored else None


def _base(step: Step, **changes: t.Any) -> PlannedStep:
    values: dict[str, t.Any] = {
        "name": step.name,
        "kind": step.kind.value,
        "anonymous": step.anonymous,
        "expect": step.expect,
        "role": step.role,
    }
    values.update(changes)
    return PlannedStep(**values)


def _from_variants(step: Step, routes: t.Sequence[Route]) -> PlannedStep | None:
    for variant in step.variants:
        page_method = "GET" if variant.form else variant.method
        methods = [page_method] + (["POST"] if step.role == "logout" else [])
        for path in variant.paths:
            for method in methods:
                route = _find(routes, path, method, literal=not variant.path)
                if route is not None:
                    return _base(
                        step,
                        method=method,
                        path=route.rule if route.literal else path,
                        form=variant.form,
                        fields=variant.fields,
                        json=variant.json,
                        why=f"route {route.rule} (endpoint {route.endpoint})",
                    )
    return None


# What a JSON signup/login API most often takes; an API that wants other names
# answers 4xx, the step is incomplete, and the identify checks say "error".
_JSON_CREDENTIALS = {
    "signup": {
        "email": "{canary.email}",
        "password": "{canary.password}",
        "name": "{canary.name}",
        "username": "{canary.username}",
    },
    "login": {
        "email": "{canary.email}",
        "password": "{canary.password}",
        "username": "{canary.username}",
    },
}


def _json_api_route(routes: t.Sequence[Route], role: str) -> Route | None:
    """A POST-only route named like the role (``/api/auth/register``)."""
    fits = [r for r in routes if r.literal and r.allows("POST") and not r.allows("GET")]
    scored = [(s, -len(r.rule), r) for r in fits if (s := _role_score(r, role))]
    return max(scored, key=lambda item: item[:2])[2] if scored else None


def _from_convention(step: Step, routes: t.Sequence[Route]) -> PlannedStep | None:
    if step.role is None:
        return None
    route = find_role_route(routes, step.role)
    if route is None and step.role in _JSON_CREDENTIALS:
        api = _json_api_route(routes, step.role)
        if api is None:
            return None
        return _base(
            step,
            method="POST",
            path=api.rule,
            json=dict(_JSON_CREDENTIALS[step.role]),
            why=f"by convention: a JSON API {api.rule} (endpoint {api.endpoint}), no form page",
        )
    if route is None:
        return None
    form = step.role in _FORM_ROLES
    method = "GET" if form or route.allows("GET") else "POST"
    return _base(
        step,
        method=method,
        path=route.rule,
        form=form,
        why=f"by convention: route {route.rule} (endpoint {route.endpoint})",
    )


def _from_manifest_form(step: Step, spec: FormSpec, label: str) -> PlannedStep:
    """``[signup]``/``[login]``: a JSON body is posted as is; otherwise the page
    is fetched for its form (CSRF token) and ``fields`` override the filling."""
    form = step.role in _FORM_ROLES and spec.json is None
    return _base(
        step,
        method=spec.method,
        path=spec.path,
        form=form,
        fields=spec.fields,
        json=spec.json,
        origin="manifest",
        why=f"{label} [{step.role}]",
    )


def _from_manifest_step(spec: StepSpec, label: str) -> PlannedStep:
    return PlannedStep(
        name=spec.name,
        kind=spec.kind,
        method=spec.method,
        path=spec.path,
        fields=spec.fields,
        json=spec.json,
        headers=dict(spec.headers),
        expect=spec.expect,
        origin="manifest",
        why=f"{label} [[steps]] {spec.name}",
    )


def _error_steps(step: Step, manifest: Manifest | None) -> list[PlannedStep]:
    paths = manifest.error_paths if manifest else ()
    label = manifest.label if manifest else ""
    return [
        _base(
            step,
            name=f"{step.name}:{path}",
            method="GET",
            path=path,
            origin="manifest",
            why=f"{label} [errors] paths",
        )
        for path in paths
    ]


def _skip_reason(step: Step) -> str:
    tried = [f"{v.method if not v.form else 'GET'} {p}" for v in step.variants for p in v.paths]
    shown = ", ".join(tried[:6]) + (", ..." if len(tried) > 6 else "")
    if step.role:
        words = "|".join(sorted(ROLE_WORDS[step.role]))
        return (
            f"the app has no {step.role} route (tried {shown}, and rules or endpoints "
            f"named {words}); name it in the manifest's [{step.role}] table"
        )
    return f"the app has no route for {step.name} (tried {shown})"


def _from_crawl(step: Step, found: t.Mapping[str, FoundForm]) -> PlannedStep | None:
    """The page the crawl found the step's form on: GET it, fill that form."""
    form = found.get(step.role or "")
    if form is None:
        return None
    return _base(step, method="GET", path=form.page, form=True, why=f"crawl: {form.describe()}")


def _plan_step(
    step: Step,
    routes: t.Sequence[Route],
    manifest: Manifest | None,
    found: t.Mapping[str, FoundForm],
) -> list[PlannedStep] | str:
    """The planned steps for one scenario step, or why there are none."""
    if step.from_manifest == "errors":
        return _error_steps(step, manifest) or "the manifest names no [errors] paths"
    spec = getattr(manifest, step.role, None) if manifest and step.role else None
    if spec is not None:
        assert manifest is not None
        return [_from_manifest_form(step, spec, manifest.label)]
    planned = (
        _from_variants(step, routes)
        or _from_convention(step, routes)
        or (_from_crawl(step, found) if step.role in _FORM_ROLES else None)
    )
    if planned is None and step.always:
        variant = step.variants[0]
        planned = _base(
            step,
            method=variant.method,
            path=variant.paths[0],
            form=variant.form,
            fields=variant.fields,
            json=variant.json,
            why="always sent, even without a matching rule",
        )
    return [planned] if planned else _skip_reason(step)


def plan(
    scenario: Scenario,
    routes: t.Sequence[Route],
    manifest: Manifest | None = None,
    found: t.Mapping[str, FoundForm] | None = None,
) -> Plan:
    """Place every step of ``scenario`` on ``routes``; see the module docs.

    :param found: role -> the form a crawl found (:func:`plan_app` passes it):
        the fallback for a signup or login step no rule places.
    """
    found = found or {}
    overrides = {spec.name: spec for spec in (manifest.steps if manifest else ())}
    label = manifest.label if manifest else ""
    result = Plan()
    for step in scenario.steps:
        if step.name in overrides:
            result.append(_from_manifest_step(overrides.pop(step.name), label))
            continue
        outcome = _plan_step(step, routes, manifest, found)
        if isinstance(outcome, str):
            result.skipped[step.name] = outcome
        else:
            result.extend(outcome)
    result.extend(_from_manifest_step(spec, label) for spec in overrides.values())
    return result


def unplaced_roles(planned: Plan, scenario: Scenario) -> tuple[str, ...]:
    """The signup/login roles whose steps no rule (and no manifest) placed."""
    return tuple(
        dict.fromkeys(
            step.role
            for step in scenario.steps
            if step.role in _FORM_ROLES and step.name in planned.skipped
        )
    )


def plan_app(
    scenario: Scenario,
    routes: t.Sequence[Route],
    manifest: Manifest | None,
    *,
    fetch: Fetch,
) -> Plan:
    """:func:`plan`, then, if signup or login found no route, a crawl from ``/``
    for their forms and a second plan with what it found. A step still
    unplaced says what the crawl read."""
    planned = plan(scenario, routes, manifest)
    missing = unplaced_roles(planned, scenario)
    if not missing:
        return planned
    result = crawl(fetch)
    replanned = plan(scenario, routes, manifest, found=result.forms)
    for step in scenario.steps:
        if step.role in missing and step.name in replanned.skipped:
            replanned.skipped[step.name] += f"; no {step.role} form on the {result.summary()}"
    replanned.crawled = result
    return replanned
