"""The optional per-app manifest: ``posthog-verify.toml`` or ``[tool.posthog-verify]``.

Zero-config must work for a conventional app; the manifest is for the rest. It
names the app, the signup/login/logout routes and their form fields, extra
scenario steps, routes that raise, checks to skip with a reason, the app's own
settings (``[env] DATABASE_URL = "sqlite:///{workspace}/app.db"``) and the
set-up commands to run before the boot (``[setup] commands = [...]``)::

    manifest = load_manifest(Path("my_app"))   # None when the app has none
    if manifest and manifest.signup:
        body = expand(manifest.signup.fields, values)   # harness.scenario.placeholders

Every problem raises :class:`ManifestError`, which names the file, the table,
the key, what was wrong and (for a misspelled key) the nearest allowed key.
Loading is pure: nothing in the app is imported or run.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import shlex
import tomllib
import typing as t
from pathlib import Path

from harness.checks.ids import CHECK_IDS
from harness.run import PlannedEvent
from harness.run import PlannedProperty
from harness.scenario.placeholders import KNOWN
from harness.scenario.placeholders import unknown_placeholders

MANIFEST_FILE = "posthog-verify.toml"
PYPROJECT_TABLE = "tool.posthog-verify"

#: Placeholder names a manifest value may use, e.g. ``"{canary.email}"``.
PLACEHOLDERS: tuple[str, ...] = tuple(sorted(KNOWN))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STEP_KINDS = ("browse", "api", "other")
EXPECTS = ("2xx", "3xx", "4xx", "5xx", "any")

_TOP_KEYS = (
    "app",
    "signup",
    "login",
    "logout",
    "steps",
    "errors",
    "skip",
    "env",
    "setup",
    "python",
    "baseline",
    "events",
)
_FORM_KEYS = ("path", "method", "fields", "json")
_STEP_KEYS = ("name", "method", "path", "fields", "json", "headers", "kind", "expect")
_EVENT_KEYS = ("name", "step", "properties", "required")
_PROPERTY_KEYS = ("type", "enum")
#: The types a tracking plan's property may have (JSON Schema's names).
PLAN_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
_DEFAULT_METHOD = {"signup": "POST", "login": "POST", "logout": "GET"}
# "{{" and "}}" are literal braces; "{name}" is a placeholder.
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_LISTS = ("token", "host")
_ENV_PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")
_SETUP_SHAPE = (
    "'commands' must be an array of commands, each a string "
    '("flask db upgrade") or an array of strings (["flask", "db", "upgrade"])'
)
#: Placeholders an ``[env]`` value may use.
ENV_PLACEHOLDERS = ("workspace",)
_TARGET_RE = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(\(.*\))?)?$")
_TOML_POS_RE = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


class ManifestError(Exception):
    """A manifest that cannot be used, with where and why.

    :param file: the file's name as shown to the user (``posthog-verify.toml``).
    :param key: dotted path of the offending key (``signup.feilds``), "" for
        the whole file.
    :param message: what is wrong and how to fix it.
    :param section: the TOML header the key sits under (``[signup]``), "" at
        top level.
    :param line: for invalid TOML, where the parser stopped (and ``column``).
    """

    def __init__(
        self,
        file: str,
        key: str,
        message: str,
        section: str = "",
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        # All fields go to args so the error pickles across xdist workers.
        super().__init__(file, key, message, section, line, column)
        self.file = file
        self.key = key
        self.message = message
        self.section = section
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        section = f"{self.section} " if self.section else ""
        return f"{where}: {section}{self.message}"


@dataclasses.dataclass(frozen=True)
class FormSpec:
    """A route the scenario submits (signup, login, logout).

    ``fields`` is sent as a form, ``json`` as a JSON body; at most one is set.
    Values may hold placeholders (see :mod:`harness.scenario.placeholders`).
    """

    path: str
    method: str
    fields: dict[str, str] | None = None
    json: dict[str, t.Any] | None = None


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """An extra request the scenario makes after the default steps.

    :param kind: ``browse``, ``api`` or ``other`` (what the exchange is for).
    :param expect: the status class the app should answer, or ``any``.
    """

    name: str
    method: str
    path: str
    fields: dict[str, str] | None = None
    json: dict[str, t.Any] | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    kind: str = "other"
    expect: str = "any"


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``source`` is the file it was read from."""

    source: Path
    app: str | None = None
    signup: FormSpec | None = None
    login: FormSpec | None = None
    logout: FormSpec | None = None
    steps: tuple[StepSpec, ...] = ()
    error_paths: tuple[str, ...] = ()
    skip: dict[str, str] = dataclasses.field(default_factory=dict)
    #: ``[env] token = [...]``, ``host = [...]``: the variables the app's
    #: PostHog setup reads, when the source does not show them plainly.
    env_token: tuple[str, ...] = ()
    env_host: tuple[str, ...] = ()
    #: ``[env] NAME = "value"``: the app's own settings (``DATABASE_URL``...),
    #: ``{workspace}`` standing for the workspace copy's path (see :func:`expand_env`).
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: ``[setup] commands``: argv lists to run before the boot; None when the
    #: table is absent (zero-config detection applies), ``()`` to run nothing.
    setup: tuple[tuple[str, ...], ...] | None = None
    #: ``python = ".venv/bin/python"``: the app's interpreter, relative to the
    #: app's folder (:mod:`harness.subject.interpreter`).
    python: str | None = None
    #: ``baseline = "../before"``: the app before the integration, relative to
    #: the app's folder (``--posthog-baseline`` wins); see ``behaviour_preserved``.
    baseline: str | None = None
    #: ``[[events]]``: the tracking plan (:func:`harness.checks.claims.tracking_plan_holds`).
    events: tuple[PlannedEvent, ...] = ()

    @property
    def label(self) -> str:
        """How to name where this manifest came from, for messages."""
        if self.source.name == "pyproject.toml":
            return f"pyproject.toml [{PYPROJECT_TABLE}]"
        return self.source.name


def load_manifest(root: Path) -> Manifest | None:
    """Read and validate the app's manifest, or return None when it has none.

    :param root: the app's folder.
    :raises ManifestError: invalid TOML, an unknown or mistyped key, or a
        manifest in both ``posthog-verify.toml`` and ``pyproject.toml``.
    """
    own = root / MANIFEST_FILE
    in_pyproject = _pyproject_table(root / "pyproject.toml")
    if own.is_file() and in_pyproject is not None:
        raise ManifestError(
            MANIFEST_FILE,
            "",
            f"the manifest is also in pyproject.toml [{PYPROJECT_TABLE}]; "
            "keep one: delete that table or this file",
        )
    if own.is_file():
        return _Validator(MANIFEST_FILE, "").manifest(own, _read_toml(own, MANIFEST_FILE))
    if in_pyproject is not None:
        path = root / "pyproject.toml"
        return _Validator("pyproject.toml", PYPROJECT_TABLE).manifest(path, in_pyproject)
    return None


def _read_toml(path: Path, label: str) -> dict[str, t.Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POS_RE.match(str(exc))
        if match is None:
            raise ManifestError(label, "", f"invalid TOML: {exc}") from None
        raise ManifestError(
            label,
            "",
            f"invalid TOML: {match['msg']}",
            line=int(match["line"]),
            column=int(match["col"]),
        ) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(label, "", f"not UTF-8 text: {exc}") from None


def _pyproject_table(path: Path) -> dict[str, t.Any] | None:
    """The ``[tool.posthog-verify]`` table, or None. A broken pyproject.toml is
    only our problem when it mentions us."""
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        if "posthog-verify" in path.read_text(encoding="utf-8", errors="replace"):
            _read_toml(path, "pyproject.toml")  # raises with line and column
        return None
    table = data.get("tool", {}).get("posthog-verify")
    if table is not None and not isinstance(table, dict):
        raise ManifestError("pyproject.toml", PYPROJECT_TABLE, "must be a table")
    return table


class _Validator:
    """Turns parsed TOML into a :class:`Manifest`, raising on the first problem."""

    def __init__(self, file: str, prefix: str) -> None:
        self.file = file
        self.prefix = prefix  # "tool.posthog-verify" inside pyproject.toml

    def fail(self, section: str, key: str, message: str) -> t.NoReturn:
        header = ".".join(p for p in (self.prefix, section) if p)
        shown = f"[{header}]" if header else ""
        for array in ("steps", "events"):
            if section.startswith(f"{array} #"):
                shown = f"[[{'.'.join(p for p in (self.prefix, array) if p)}]] "
                shown += section[len(array) + 1 :]
        dotted = f"{section}.{key}" if section else key
        raise ManifestError(self.file, dotted, message, section=shown)

    def manifest(self, source: Path, data: dict[str, t.Any]) -> Manifest:
        self.check_keys("", data, _TOP_KEYS)
        app = data.get("app")
        if app is not None:
            self.check_target(app)
        forms = {name: self.form(name, data.get(name)) for name in ("signup", "login", "logout")}
        return Manifest(
            source=source,
            app=app,
            signup=forms["signup"],
            login=forms["login"],
            logout=forms["logout"],
            steps=self.steps(data.get("steps", [])),
            error_paths=self.errors(data.get("errors", {})),
            skip=self.skip(data.get("skip", {})),
            env_token=self.env_names(data.get("env", {}), "token"),
            env_host=self.env_names(data.get("env", {}), "host"),
            env=self.env_values(data.get("env", {})),
            setup=self.setup(data.get("setup")),
            python=self.python(data.get("python")),
            baseline=self.baseline(data.get("baseline")),
            events=self.events(data.get("events", [])),
        )

    def baseline(self, value: t.Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail("", "baseline", "must be the path of the app before the integration")
        return value

    def python(self, value: t.Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail("", "python", "must be the path of the app's Python, e.g. .venv/bin/python")
        return value

    def check_keys(self, section: str, table: dict[str, t.Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                message = f"key '{key}' is not allowed; allowed: {', '.join(allowed)}."
                close = difflib.get_close_matches(key, allowed, n=1)
                if close:
                    message += f" Did you mean '{close[0]}'?"
                self.fail(section, key, message)

    def check_target(self, app: t.Any) -> None:
        if not isinstance(app, str) or not _TARGET_RE.match(app):
            self.fail(
                "",
                "app",
                f'\'app\' must be a string like "module:create_app" or "wsgi:app", got {app!r}',
            )

    def table(self, section: str, value: t.Any) -> dict[str, t.Any]:
        if not isinstance(value, dict):
            self.fail("", section, f"'{section}' must be a table, got {_type(value)}")
        return value

    def form(self, name: str, value: t.Any) -> FormSpec | None:
        if value is None:
            return None
        table = self.table(name, value)
        self.check_keys(name, table, _FORM_KEYS)
        if "path" not in table:
            self.fail(name, "path", "'path' is required (the route, e.g. \"/signup\")")
        path, method = self.path(name, table["path"]), self.method(name, table, name)
        fields, body = self.body(name, table)
        return FormSpec(path=path, method=method, fields=fields, json=body)

    def path(self, section: str, value: t.Any) -> str:
        if not isinstance(value, str) or not value.startswith("/"):
            self.fail(section, "path", f"'path' must be a string starting with '/', got {value!r}")
        self.placeholders(section, "path", value)
        return value

    def method(self, section: str, table: dict[str, t.Any], default_for: str) -> str:
        method = table.get("method", _DEFAULT_METHOD.get(default_for, "GET"))
        if not isinstance(method, str) or method.upper() not in METHODS:
            self.fail(
                section, "method", f"'method' must be one of {', '.join(METHODS)}, got {method!r}"
            )
        return method.upper()

    def body(
        self, section: str, table: dict[str, t.Any]
    ) -> tuple[dict[str, str] | None, dict[str, t.Any] | None]:
        if "fields" in table and "json" in table:
            self.fail(section, "json", "set 'fields' (a form) or 'json' (a JSON body), not both")
        fields = table.get("fields")
        if fields is not None:
            fields = self.str_table(section, "fields", fields)
        body = table.get("json")
        if body is not None:
            if not isinstance(body, dict):
                self.fail(section, "json", f"'json' must be a table, got {_type(body)}")
            self.placeholders(section, "json", body)
        return fields, body

    def str_table(self, section: str, key: str, value: t.Any) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail(section, key, f"'{key}' must be a table of strings, got {_type(value)}")
        for name, item in value.items():
            if not isinstance(item, str):
                self.fail(
                    section, f"{key}.{name}", f"'{key}.{name}' must be a string, got {_type(item)}"
                )
            self.placeholders(section, f"{key}.{name}", item)
        return dict(value)

    def placeholders(self, section: str, key: str, value: t.Any) -> None:
        """Reject unknown ``{name}`` placeholders anywhere in a value."""
        if isinstance(value, dict):
            for name, item in value.items():
                self.placeholders(section, f"{key}.{name}", item)
        elif isinstance(value, list):
            for item in value:
                self.placeholders(section, key, item)
        elif isinstance(value, str):
            for name in unknown_placeholders(value):
                message = f"'{key}' uses unknown placeholder '{{{name}}}'; known: "
                message += ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + "."
                close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
                if close:
                    message += f" Did you mean '{{{close[0]}}}'?"
                self.fail(section, key, message)

    def steps(self, value: t.Any) -> tuple[StepSpec, ...]:
        if not isinstance(value, list):
            self.fail("", "steps", "'steps' must be an array of tables ([[steps]])")
        return tuple(self.step(i, item) for i, item in enumerate(value, start=1))

    def step(self, number: int, value: t.Any) -> StepSpec:
        section = f"steps #{number}"
        if not isinstance(value, dict):
            self.fail(section, "", f"each step must be a table, got {_type(value)}")
        self.check_keys(section, value, _STEP_KEYS)
        for required in ("name", "path"):
            if not isinstance(value.get(required), str) or not value[required]:
                self.fail(section, required, f"'{required}' is required and must be a string")
        fields, body = self.body(section, value)
        kind, expect = value.get("kind", "other"), value.get("expect", "any")
        if kind not in STEP_KINDS:
            self.fail(
                section, "kind", f"'kind' must be one of {', '.join(STEP_KINDS)}, got {kind!r}"
            )
        if expect not in EXPECTS:
            self.fail(
                section, "expect", f"'expect' must be one of {', '.join(EXPECTS)}, got {expect!r}"
            )
        headers = self.str_table(section, "headers", value.get("headers", {}))
        return StepSpec(
            name=value["name"],
            method=self.method(section, value, "step"),
            path=self.path(section, value["path"]),
            fields=fields,
            json=body,
            headers=headers,
            kind=kind,
            expect=expect,
        )

    def events(self, value: t.Any) -> tuple[PlannedEvent, ...]:
        """``[[events]]``: the tracking plan, one table per event."""
        if not isinstance(value, list):
            self.fail("", "events", "'events' must be an array of tables ([[events]])")
        return tuple(self.event(i, item) for i, item in enumerate(value, start=1))

    def event(self, number: int, value: t.Any) -> PlannedEvent:
        section = f"events #{number}"
        if not isinstance(value, dict):
            self.fail(section, "", f"each event must be a table, got {_type(value)}")
        self.check_keys(section, value, _EVENT_KEYS)
        for required in ("name", "step"):
            if not isinstance(value.get(required), str) or not value[required].strip():
                example = 'name = "user_signed_up"' if required == "name" else 'step = "signup"'
                self.fail(
                    section, required, f"'{required}' is required and must be a string ({example})"
                )
        properties = value.get("properties", {})
        if not isinstance(properties, dict):
            self.fail(
                section,
                "properties",
                "'properties' must be a table of property = { type = \"string\" }, "
                f"got {_type(properties)}",
            )
        planned = {
            name: self.planned_property(section, name, spec) for name, spec in properties.items()
        }
        required_names = value.get("required", [])
        if not isinstance(required_names, list) or not all(
            isinstance(n, str) and n for n in required_names
        ):
            self.fail(section, "required", "'required' must be an array of property names")
        return PlannedEvent(
            name=value["name"].strip(),
            step=value["step"].strip(),
            properties=planned,
            required=tuple(required_names),
        )

    def planned_property(self, section: str, name: str, spec: t.Any) -> PlannedProperty:
        key = f"properties.{name}"
        if not isinstance(spec, dict):
            self.fail(
                section,
                key,
                f"'{key}' must be a table like {{ type = \"string\" }}, got {_type(spec)}",
            )
        self.check_keys(f"{section}.{key}", spec, _PROPERTY_KEYS)
        types = spec.get("type", [])
        types = [types] if isinstance(types, str) else types
        if not isinstance(types, list) or not all(isinstance(x, str) for x in types):
            self.fail(
                section, f"{key}.type", f"'{key}.type' must be a type name or an array of them"
            )
        for name_ in types:
            if name_ not in PLAN_TYPES:
                message = f"'{key}.type' {name_!r} is not one of {', '.join(PLAN_TYPES)}."
                close = difflib.get_close_matches(name_, PLAN_TYPES, n=1)
                if close:
                    message += f" Did you mean '{close[0]}'?"
                self.fail(section, f"{key}.type", message)
        enum = spec.get("enum")
        if enum is not None and (not isinstance(enum, list) or not enum):
            self.fail(section, f"{key}.enum", f"'{key}.enum' must be a non-empty array of values")
        return PlannedProperty(types=tuple(types), enum=tuple(enum) if enum is not None else None)

    def errors(self, value: t.Any) -> tuple[str, ...]:
        table = self.table("errors", value)
        self.check_keys("errors", table, ("paths",))
        paths = table.get("paths", [])
        if not isinstance(paths, list):
            self.fail("errors", "paths", f"'paths' must be an array of strings, got {_type(paths)}")
        return tuple(self.path("errors", p) for p in paths)

    def env_names(self, value: t.Any, key: str) -> tuple[str, ...]:
        table = self.table("env", value)
        names = table.get(key, [])
        valid = isinstance(names, list) and all(
            isinstance(n, str) and _ENV_NAME_RE.match(n) for n in names
        )
        if not valid:
            self.fail("env", key, f"'{key}' must be an array of environment variable names")
        return tuple(names)

    def env_values(self, value: t.Any) -> dict[str, str]:
        """Every ``[env]`` key but ``token``/``host``: a variable and its value."""
        values: dict[str, str] = {}
        for name, item in self.table("env", value).items():
            if name in _ENV_LISTS:
                continue
            if not _ENV_NAME_RE.match(name):
                self.fail("env", name, f"'{name}' is not an environment variable name")
            if not isinstance(item, str):
                self.fail(
                    "env",
                    name,
                    f"'{name}' must be a string (quote it: {name} = \"{item}\"), got {_type(item)}",
                )
            unknown = [p for p in _ENV_PLACEHOLDER_RE.findall(item) if p not in ENV_PLACEHOLDERS]
            if unknown:
                self.fail(
                    "env",
                    name,
                    f"'{name}' uses unknown placeholder '{{{unknown[0]}}}'; known: "
                    + ", ".join(f"{{{p}}}" for p in ENV_PLACEHOLDERS)
                    + " (write {{ and }} for literal braces)",
                )
            values[name] = item
        return values

    def setup(self, value: t.Any) -> tuple[tuple[str, ...], ...] | None:
        """``[setup] commands``: strings (split as a shell would, run without
        one) or argv lists of strings."""
        if value is None:
            return None
        table = self.table("setup", value)
        self.check_keys("setup", table, ("commands",))
        commands = table.get("commands", [])
        if not isinstance(commands, list):
            self.fail("setup", "commands", _SETUP_SHAPE + f", got {_type(commands)}")
        return tuple(self.command(item) for item in commands)

    def command(self, item: t.Any) -> tuple[str, ...]:
        if isinstance(item, str):
            try:
                argv = shlex.split(item)
            except ValueError as exc:
                self.fail("setup", "commands", f"cannot split {item!r}: {exc}")
        elif isinstance(item, list) and all(isinstance(part, str) for part in item):
            argv = list(item)
        else:
            self.fail("setup", "commands", _SETUP_SHAPE + f", got {item!r}")
        if not argv or not argv[0]:
            self.fail("setup", "commands", f"an empty command: {item!r}")
        return tuple(argv)

    def skip(self, value: t.Any) -> dict[str, str]:
        table = self.table("skip", value)
        self.check_keys("skip", table, CHECK_IDS)
        for check_id, reason in table.items():
            if not isinstance(reason, str) or not reason.strip():
                self.fail("skip", check_id, f"'{check_id}' must be a non-empty reason string")
        return dict(table)


def expand_env(value: str, workspace: Path) -> str:
    """An ``[env]`` (or env file) value with ``{workspace}`` replaced by the
    workspace copy's absolute path; ``{{`` and ``}}`` are literal braces.

    >>> expand_env("sqlite:///{workspace}/app.db", Path("/tmp/w"))
    'sqlite:////tmp/w/app.db'
    """
    marker = "\x00"
    text = value.replace("{{", marker + "(").replace("}}", marker + ")")
    text = text.replace("{workspace}", str(workspace))
    return text.replace(marker + "(", "{").replace(marker + ")", "}")


def _type(value: t.Any) -> str:
    """A TOML-ish name for a parsed value's type, for messages."""
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)
