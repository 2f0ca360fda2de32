"""Loading declarative user flows from ``scenarios/<name>.toml``.

A scenario is an ordered list of steps; each says what a user does, not which
routes an app has (that is :mod:`harness.scenario.plan`'s job)::

    scenario = load_scenario("default")
    [step.name for step in scenario.steps]   # ['anon_browse', 'signup', ...]

The format (see ``scenarios/default.toml`` for a full example)::

    [[steps]]
    name = "api_action"          # unique; becomes Exchange.step
    kind = "api"                 # browse|signup|login|logout|api|probe|error|other
    method = "POST"              # default GET
    candidates = ["/api/notes"]  # or path = "/x": the first the app has is used
    json = { text = "{canary.text}" }   # or fields = {...}, or form = "discover"
    anonymous = false            # true: sent as an anonymous visitor
    expect = "2xx|3xx"           # statuses that count as success; default "any"
    # role = "signup"            # also search the app's routes by convention
    # always = true              # send even when no route matches (e.g. GET /)
    # from_manifest = "errors"   # one step per path of the manifest's [errors]
    # [[steps.variants]]         # alternatives, tried in order by the planner

Scenario files live in ``<repo>/scenarios`` (a checkout) and in the package as
``harness/_scenarios`` (a wheel); a path to a ``.toml`` file works too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import enum
import importlib.resources
import tomllib
import typing as t
from pathlib import Path

from harness.scenario.placeholders import KNOWN
from harness.scenario.placeholders import unknown_placeholders


class StepKind(enum.StrEnum):
    """What a step is for; it becomes :attr:`harness.run.Exchange.kind`."""

    BROWSE = "browse"
    SIGNUP = "signup"
    LOGIN = "login"
    LOGOUT = "logout"
    API = "api"
    PROBE = "probe"
    ERROR = "error"
    OTHER = "other"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file and key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}")


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROLES = ("signup", "login", "logout")
EXPECT_CLASSES = ("2xx", "3xx", "4xx", "5xx")
MANIFEST_SOURCES = ("errors",)
_VARIANT_KEYS = ("method", "path", "candidates", "form", "fields", "json")
_STEP_KEYS = (
    "name", "kind", "role", "anonymous", "expect", "always", "from_manifest", "variants",
    *_VARIANT_KEYS,
)  # fmt: skip
_TOP_KEYS = ("name", "description", "steps")


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way to perform a step. ``form`` means: GET ``path``, find the form
    that fits the step, fill it, submit it (``fields`` are merged on top)."""

    method: str = "GET"
    path: str | None = None
    candidates: tuple[str, ...] = ()
    form: bool = False
    fields: dict[str, str] | None = None
    json: t.Any = None

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,) if self.path else self.candidates


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing a user does. ``expect`` is ``"any"`` or classes like
    ``"2xx|3xx"``."""

    name: str
    kind: StepKind
    variants: tuple[Variant, ...]
    role: str | None = None
    anonymous: bool = False
    expect: str = "any"
    always: bool = False
    from_manifest: str | None = None

    def accepts(self, status: int | None) -> bool:
        """Whether ``status`` counts as the step succeeding."""
        return accepts(self.expect, status)


def accepts(expect: str, status: int | None) -> bool:
    """``accepts("2xx|3xx", 302)`` is True; ``"any"`` accepts every answer."""
    if status is None:
        return False
    return expect == "any" or f"{status // 100}xx" in expect.split("|")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    steps: tuple[Step, ...]
    description: str = ""


# -- finding the file ---------------------------------------------------------


def _search_dirs() -> list[t.Any]:
    """Where named scenarios live: the checkout's folder, then the wheel's."""
    dirs: list[t.Any] = [Path(__file__).resolve().parents[2] / "scenarios"]
    with contextlib.suppress(ModuleNotFoundError, FileNotFoundError):
        dirs.append(importlib.resources.files("harness") / "_scenarios")
    return dirs


def available_scenarios() -> list[str]:
    """Names of the scenarios the package ships."""
    names: set[str] = set()
    for folder in _search_dirs():
        if folder.is_dir():
            names |= {p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def _scenario_text(name: str) -> tuple[str, str]:
    """``(source, text)`` for a scenario name or a path to a TOML file."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise ScenarioError(name, "file", "no such scenario file")
        return str(path), path.read_text(encoding="utf-8")
    for folder in _search_dirs():
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return str(candidate), candidate.read_text(encoding="utf-8")
    known = available_scenarios()
    hint = difflib.get_close_matches(name, known, n=1)
    did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
    raise ScenarioError(
        name, "name", f"no scenario named {name!r}{did_you_mean}; available: {', '.join(known)}"
    )


def load_scenario(name: str = "default") -> Scenario:
    """Load and validate a scenario by name (``"default"``) or path.

    :raises ScenarioError: the file is missing, is not TOML, or a key is
        unknown or has a bad value; the message names the file and the key.
    """
    source, text = _scenario_text(name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(source, "toml", f"not valid TOML: {error}") from None
    return parse_scenario(data, source)


# -- validation ----------------------------------------------------------------


def _unknown_keys(
    table: dict[str, t.Any], allowed: t.Sequence[str], source: str, where: str
) -> None:
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            allowed_text = ", ".join(allowed)
            raise ScenarioError(
                source, f"{where}{key}", f"unknown key{did_you_mean} (allowed: {allowed_text})"
            )


def _choice(value: t.Any, choices: t.Sequence[str], source: str, key: str) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = difflib.get_close_matches(str(value), choices, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ScenarioError(
            source, key, f"{value!r} is not one of {', '.join(choices)}{did_you_mean}"
        )
    return value


def _path(value: t.Any, source: str, key: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ScenarioError(source, key, f"{value!r} is not a path starting with '/'")
    return value


def _placeholders_ok(value: t.Any, source: str, key: str) -> None:
    unknown = unknown_placeholders(value)
    if unknown:
        raise ScenarioError(
            source,
            key,
            f"unknown placeholder {{{unknown[0]}}}; known: {', '.join(sorted(KNOWN))}",
        )


def _parse_variant(table: dict[str, t.Any], source: str, where: str) -> Variant:
    method = _choice(table.get("method", "GET"), METHODS, source, f"{where}method")
    path = _path(table["path"], source, f"{where}path") if "path" in table else None
    raw_candidates = table.get("candidates", [])
    if not isinstance(raw_candidates, list):
        raise ScenarioError(source, f"{where}candidates", "must be an array of paths")
    candidates = tuple(
        _path(c, source, f"{where}candidates[{i}]") for i, c in enumerate(raw_candidates)
    )
    if path and candidates:
        raise ScenarioError(source, f"{where}candidates", "give either path or candidates")
    form = table.get("form")
    if form is not None and form != "discover":
        raise ScenarioError(source, f"{where}form", f'{form!r}: the only value is "discover"')
    fields = table.get("fields")
    if fields is not None and (
        not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values())
    ):
        raise ScenarioError(source, f"{where}fields", "must be a table of strings")
    if "json" in table and (form or fields is not None):
        raise ScenarioError(source, f"{where}json", "a json body excludes form and fields")
    _placeholders_ok(fields, source, f"{where}fields")
    _placeholders_ok(table.get("json"), source, f"{where}json")
    return Variant(method, path, candidates, form == "discover", fields, table.get("json"))


def _flag(table: dict[str, t.Any], key: str, source: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ScenarioError(source, f"{where}{key}", f"{value!r} is not true or false")
    return value


def _expect(value: t.Any, source: str, key: str) -> str:
    parts = value.split("|") if isinstance(value, str) else [value]
    if value != "any" and not all(part in EXPECT_CLASSES for part in parts):
        raise ScenarioError(
            source, key, f'{value!r}: use "any" or classes joined by "|", e.g. "2xx|3xx"'
        )
    return t.cast(str, value)


def _parse_step(table: t.Any, source: str, index: int) -> Step:
    where = f"steps[{index}]."
    if not isinstance(table, dict):
        raise ScenarioError(source, f"steps[{index}]", "must be a table ([[steps]])")
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(source, f"{where}name", "every step needs a name")
    where = f"steps[{index}] ({name})."
    _unknown_keys(table, _STEP_KEYS, source, where)
    if "kind" not in table:
        raise ScenarioError(source, f"{where}kind", "missing; one of " + ", ".join(StepKind))
    kind = StepKind(_choice(table["kind"], [k.value for k in StepKind], source, f"{where}kind"))
    role = table.get("role")
    if role is not None:
        _choice(role, ROLES, source, f"{where}role")
    origin = table.get("from_manifest")
    if origin is not None:
        _choice(origin, MANIFEST_SOURCES, source, f"{where}from_manifest")
    variants = _parse_variants(table, source, where)
    if not (role or origin) and not any(v.paths for v in variants):
        raise ScenarioError(source, f"{where}path", "give path, candidates, role or from_manifest")
    return Step(
        name=name,
        kind=kind,
        variants=variants,
        role=role,
        anonymous=_flag(table, "anonymous", source, where),
        expect=_expect(table.get("expect", "any"), source, f"{where}expect"),
        always=_flag(table, "always", source, where),
        from_manifest=origin,
    )


def _parse_variants(table: dict[str, t.Any], source: str, where: str) -> tuple[Variant, ...]:
    own = {key: table[key] for key in _VARIANT_KEYS if key in table}
    raw = table.get("variants")
    if raw is None:
        return (_parse_variant(own, source, where),)
    if own or not isinstance(raw, list) or not raw:
        raise ScenarioError(
            source, f"{where}variants", "an array of tables, given instead of method/path/..."
        )
    variants = []
    for i, item in enumerate(raw):
        vwhere = f"{where}variants[{i}]."
        if not isinstance(item, dict):
            raise ScenarioError(source, vwhere.rstrip("."), "must be a table")
        _unknown_keys(item, _VARIANT_KEYS, source, vwhere)
        variants.append(_parse_variant(item, source, vwhere))
    return tuple(variants)


def parse_scenario(data: dict[str, t.Any], source: str) -> Scenario:
    """Validate parsed TOML into a :class:`Scenario` (``source`` names the
    file in errors)."""
    _unknown_keys(data, _TOP_KEYS, source, "")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(source, "steps", "a scenario needs at least one [[steps]] table")
    steps = tuple(_parse_step(table, source, i) for i, table in enumerate(raw_steps))
    seen: set[str] = set()
    for i, step in enumerate(steps):
        if step.name in seen:
            raise ScenarioError(source, f"steps[{i}].name", f"{step.name!r} is used twice")
        seen.add(step.name)
    name = data.get("name", Path(source).stem)
    return Scenario(
        name=str(name), source=source, steps=steps, description=str(data.get("description", ""))
    )
