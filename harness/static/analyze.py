"""What an app's source says about its PostHog setup, read with :mod:`ast`.

Nothing is imported or executed: the app is untrusted and this runs in the
pytest process. The facts are evidence for the checks (a literal key at
file:line, the env names to inject a token into), never a verdict alone::

    facts = analyze(Path("my_app"))
    facts.env_names       # ("POSTHOG_API_KEY", "POSTHOG_HOST")
    facts.literal_keys    # (SourceLocation("config.py", 3, 'KEY = "phc_ab…"'),)

The module's default client (``posthog.api_key = ...``,
``posthog.enable_exception_autocapture = True``) has no constructor call, so
each file that configures it yields one :class:`PosthogConstructionSite`
whose ``kwargs`` hold ``"<module>"`` (the alias the file uses for the
``posthog`` module) plus every attribute assigned, as source text; it sits at
the first such assignment.

Tests (``tests/``, ``test_*.py``, ``conftest.py``) are not scanned: their
fixtures may hold fake keys that are not the integration's fault.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
import subprocess
import typing as t
from pathlib import Path

from harness.run import PosthogConstructionSite
from harness.run import SourceLocation
from harness.run import StaticFacts
from harness.static.envflow import EnvFlow
from harness.static.envflow import config_key
from harness.static.envflow import env_name
from harness.static.walk import iter_source_files
from harness.static.walk import iter_text_files
from harness.static.walk import parse_file

# A project or personal key: the prefix must start a token ("graphc_x" is not one).
KEY_RE = re.compile(r"(?<![A-Za-z0-9_])ph[cx]_[A-Za-z0-9_\-]{8,}")
# Only a key of a real key's shape is a committed key, in source as in a .env
# or JSON file: placeholders such as "phc_your_key_here" or a fallback
# "phc_placeholder_disabled" are common and send nothing anyone could use.
# (KEY_RE, broader, is what redaction hides.)
_REAL_KEY_RE = re.compile(r"(?<![A-Za-z0-9_])ph[cx]_[A-Za-z0-9]{32,}(?![A-Za-z0-9])")
# An ingestion host (us.i.posthog.com, app.posthog.com...), not a docs link.
POSTHOG_HOST_RE = re.compile(
    r"^(https?://)?([a-z0-9-]+\.)+posthog\.com(:\d+)?(/[^\s]*)?$", re.IGNORECASE
)
_DOCS_HOSTS = ("www.posthog.com", "posthog.com")
CLIENT_CLASSES = ("Posthog", "Client")
# Module functions that produce an event on the default client.
MODULE_EVENT_CALLS = frozenset(
    {"capture", "capture_exception", "set", "set_once", "alias", "group_identify", "identify"}
)
SHUTDOWN_CALLS = frozenset({"shutdown", "flush"})
_POSITIONAL = ("project_api_key", "host")  # Client.__init__'s first parameters
_KEY_SINKS = frozenset({"project_api_key", "api_key"})
_MODULE_SETTINGS = frozenset(
    {"api_key", "project_api_key", "host", "enable_exception_autocapture", "disabled", "debug"}
)
_REDACT_KEEP = 6
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def redact(key: str) -> str:
    """A literal key as evidence may show it: its first characters only."""
    return key[:_REDACT_KEEP] + "…"


@dataclasses.dataclass
class _Source:
    rel: str
    tree: ast.Module
    text: str

    @functools.cached_property
    def nodes(self) -> list[ast.AST]:
        """Every node of the tree, walked once: each scan below reads this list
        instead of walking the tree again (the walks were most of the analysis)."""
        return list(ast.walk(self.tree))

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @functools.cached_property
    def _segment_lines(self) -> list[str]:
        # The lines as ast.get_source_segment splits them (ends kept; only
        # \r\n, \r and \n end a line), split once instead of per call.
        return _LINE_RE.findall(self.text)

    def segment(self, node: ast.AST) -> str | None:
        """``ast.get_source_segment(self.text, node)``, on the cached lines."""
        spans: list[int | None] = [
            getattr(node, name, None)
            for name in ("lineno", "end_lineno", "col_offset", "end_col_offset")
        ]
        first, last, start, end = spans
        if first is None or last is None or start is None or end is None:
            return None
        lines = self._segment_lines
        if first == last:
            return lines[first - 1].encode()[start:end].decode()
        head = lines[first - 1].encode()[start:].decode()
        tail = lines[last - 1].encode()[:end].decode()
        return "".join([head, *lines[first : last - 1], tail])

    def loc(self, node: ast.AST, line: int | None = None) -> SourceLocation:
        number: int = line or getattr(node, "lineno", None) or 1
        lines = self.lines
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        return SourceLocation(self.rel, number, KEY_RE.sub(lambda m: redact(m[0]), text))


@dataclasses.dataclass
class _Aliases:
    """How one file names the posthog module, its classes and functions."""

    modules: set[str] = dataclasses.field(default_factory=set)
    classes: set[str] = dataclasses.field(default_factory=set)
    functions: dict[str, str] = dataclasses.field(default_factory=dict)  # bound -> original
    atexit_modules: set[str] = dataclasses.field(default_factory=set)
    atexit_register: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def of(cls, nodes: t.Iterable[ast.AST]) -> _Aliases:
        aliases = cls()
        for node in nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    if top == "posthog":
                        aliases.modules.add(a.asname or "posthog")
                    elif top == "atexit":
                        aliases.atexit_modules.add(a.asname or "atexit")
            elif isinstance(node, ast.ImportFrom) and node.module:
                aliases._from(node)
        return aliases

    def _from(self, node: ast.ImportFrom) -> None:
        module = _or_empty(node.module)
        for a in node.names:
            bound = a.asname or a.name
            if module in ("posthog", "posthog.client") and a.name in CLIENT_CLASSES:
                self.classes.add(bound)
            elif module == "posthog":
                self.functions[bound] = a.name
            elif module == "atexit" and a.name == "register":
                self.atexit_register.add(bound)

    def is_module(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.modules
        # posthog.client as a dotted module
        return (
            isinstance(node, ast.Attribute) and node.attr == "client" and self.is_module(node.value)
        )

    def is_client_class(self, func: ast.AST) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.classes
        return (
            isinstance(func, ast.Attribute)
            and func.attr in CLIENT_CLASSES
            and self.is_module(func.value)
        )

    def module_function(self, func: ast.AST) -> str | None:
        """``posthog.capture`` or an imported ``capture`` -> ``"capture"``."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.attr if func.value.id in self.modules else None
        if isinstance(func, ast.Name):
            return self.functions.get(func.id)
        return None

    def is_atexit_register(self, func: ast.AST) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.atexit_register
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "register"
            and isinstance(func.value, ast.Name)
            and func.value.id in self.atexit_modules
        )


def _or_empty(value: str | None) -> str:
    return value or ""


class _Flow(EnvFlow):
    """:class:`EnvFlow` that also knows which file each string literal is in."""

    def __init__(self, sources: list[_Source]) -> None:
        super().__init__(())
        for src in sources:  # the walks each source already made (:attr:`_Source.nodes`)
            for node in src.nodes:
                self._index(node)
        self._owners = {
            id(node): src
            for src in sources
            for node in src.nodes
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }

    def owner(self, node: ast.Constant, default: _Source) -> _Source:
        return self._owners.get(id(node), default)


@dataclasses.dataclass
class _Findings:
    env_names: set[str] = dataclasses.field(default_factory=set)
    config_keys: set[str] = dataclasses.field(default_factory=set)
    literal_keys: list[SourceLocation] = dataclasses.field(default_factory=list)
    hosts: list[SourceLocation] = dataclasses.field(default_factory=list)
    constructions: list[PosthogConstructionSite] = dataclasses.field(default_factory=list)
    atexit_sites: list[SourceLocation] = dataclasses.field(default_factory=list)
    module_calls: list[SourceLocation] = dataclasses.field(default_factory=list)
    env_prefixes: set[str] = dataclasses.field(default_factory=set)
    host_sources: set[str] = dataclasses.field(default_factory=set)
    key_sources: set[str] = dataclasses.field(default_factory=set)


def analyze(root: Path) -> StaticFacts:
    """Read every source file under ``root`` and collect the PostHog facts.

    :param root: the app's folder. Files that do not parse are listed in
        ``parse_errors`` (``"file: message"``); this never raises for them.
    """
    root = Path(root)
    sources, errors = _parse_all(root)
    flow = _Flow(sources)
    found = _Findings()
    client_names: set[str] = set()
    scans = [(src, _Aliases.of(src.nodes)) for src in sources]
    for src, aliases in scans:
        client_names |= _client_names(src.nodes, aliases)
    shutdown_funcs: set[str] = set()
    for src, aliases in scans:
        shutdown_funcs |= _shutdown_functions(src.tree, aliases, client_names)
    for src, aliases in scans:
        _scan(src, aliases, flow, found)
        _scan_atexit(src, aliases, client_names, shutdown_funcs, found)
    _posthog_named(flow, sources, found)
    found.literal_keys.extend(_keys_in_text_files(root))
    return StaticFacts(
        env_names=tuple(sorted(found.env_names)),
        config_keys=tuple(sorted(found.config_keys)),
        literal_keys=_ordered(found.literal_keys),
        hardcoded_hosts=_ordered(found.hosts),
        constructions=tuple(
            sorted(found.constructions, key=lambda c: (c.location.file, c.location.line))
        ),
        atexit_sites=_ordered(found.atexit_sites),
        module_calls=_ordered(found.module_calls),
        env_prefixes=tuple(sorted(found.env_prefixes)),
        host_sources=tuple(sorted(found.host_sources)),
        key_sources=tuple(sorted(found.key_sources)),
        files_scanned=len(sources) + len(errors),
        parse_errors=tuple(errors),
    )


def _parse_all(root: Path) -> tuple[list[_Source], list[str]]:
    sources: list[_Source] = []
    errors: list[str] = []
    for path in iter_source_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            tree = parse_file(path)
            data = path.read_bytes()
        except SyntaxError as exc:
            errors.append(f"{rel}:{exc.lineno}: {exc.msg}" if exc.lineno else f"{rel}: {exc.msg}")
            continue
        except (ValueError, OSError) as exc:
            errors.append(f"{rel}: {exc}")
            continue
        sources.append(_Source(rel, tree, data.decode("utf-8", errors="replace")))
    return sources, errors


def _ordered(locations: list[SourceLocation]) -> tuple[SourceLocation, ...]:
    return tuple(sorted(set(locations), key=lambda loc: (loc.file, loc.line, loc.text)))


def _scan(src: _Source, aliases: _Aliases, flow: _Flow, found: _Findings) -> None:
    module_settings: list[tuple[str, ast.expr, int]] = []
    for node in src.nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            _literal_keys(src, node, found)
        elif isinstance(node, ast.Call):
            _call(src, node, aliases, flow, found)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and aliases.is_module(target.value)
                    and target.attr in _MODULE_SETTINGS
                ):
                    module_settings.append((target.attr, node.value, node.lineno))
        name = env_name(node)
        if name is not None and "POSTHOG" in name.upper():
            found.env_names.add(name)
    for attr, value, _ in module_settings:
        _sink(src, attr, value, flow, found)
    if module_settings:
        _module_site(src, aliases, module_settings, found)


_TEXT_FILE_LIMIT = 1 << 20


def _keys_in_text_files(root: Path) -> list[SourceLocation]:
    """Literal keys committed in configuration files (``.env``, JSON, YAML...)."""
    found = []
    for path in iter_text_files(root):
        try:
            if path.stat().st_size > _TEXT_FILE_LIMIT:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        hits = [
            SourceLocation(path.relative_to(root).as_posix(), number, _redacted(line, match[0]))
            for number, line in enumerate(text.splitlines(), start=1)
            for match in _REAL_KEY_RE.finditer(line)
        ]
        if hits and not _git_ignored(path):
            found.extend(hits)
    return found


def _redacted(line: str, key: str) -> str:
    return line.strip().replace(key, redact(key))


def _git_ignored(path: Path) -> bool:
    """A developer's local ``.env`` that git ignores is not committed: only a
    file the repository would carry counts (outside a repository, every file)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(path.parent), "check-ignore", "-q", path.name],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _literal_keys(src: _Source, node: ast.Constant, found: _Findings) -> None:
    value = str(node.value)
    for match in _REAL_KEY_RE.finditer(value):
        line = node.lineno + value[: match.start()].count("\n")
        location = src.loc(node, line)
        if redact(match[0]) not in location.text:  # key on a continuation line
            location = dataclasses.replace(location, text=redact(match[0]))
        found.literal_keys.append(location)


def _call(src: _Source, node: ast.Call, aliases: _Aliases, flow: _Flow, found: _Findings) -> None:
    if isinstance(node.func, ast.Attribute) and node.func.attr == "from_prefixed_env":
        found.env_prefixes.add(_prefix(node))
    elif aliases.is_client_class(node.func):
        _construction(src, node, flow, found)
    elif aliases.module_function(node.func) in MODULE_EVENT_CALLS:
        found.module_calls.append(src.loc(node))


def _prefix(node: ast.Call) -> str:
    """``from_prefixed_env(prefix="X")``'s prefix; Flask's default is ``FLASK``."""
    values = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "prefix")]
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return "FLASK"


def _construction(src: _Source, node: ast.Call, flow: _Flow, found: _Findings) -> None:
    kwargs: dict[str, str] = {}
    for i, arg in enumerate(node.args):
        name = _POSITIONAL[i] if i < len(_POSITIONAL) else f"<arg {i}>"
        kwargs[name] = _text(src, arg)
        _sink(src, name, arg, flow, found)
    for keyword in node.keywords:
        kwargs[keyword.arg or "**"] = _text(src, keyword.value)
        if keyword.arg:
            _sink(src, keyword.arg, keyword.value, flow, found)
    found.constructions.append(
        PosthogConstructionSite(src.loc(node), kwargs, _autocapture(node.keywords))
    )


def _autocapture(keywords: list[ast.keyword]) -> bool | str | None:
    for keyword in keywords:
        if keyword.arg == "enable_exception_autocapture":
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                return value.value
            return "dynamic"
    # **options may hold it: we cannot tell from the source
    return "dynamic" if any(k.arg is None for k in keywords) else None


def _sink(src: _Source, name: str, value: ast.expr, flow: _Flow, found: _Findings) -> None:
    """A value that reaches the SDK's key or host: trace it to the environment."""
    if name not in _KEY_SINKS and name != "host":
        return
    resolved = flow.resolve(value)
    found.env_names |= resolved.env_names
    found.config_keys |= resolved.config_keys
    role = found.host_sources if name == "host" else found.key_sources
    role |= resolved.env_names | resolved.config_keys
    if name == "host" and not resolved.env_names:
        for literal in resolved.literals:
            if re.match(r"^https?://", str(literal.value)):
                # the literal may sit in another file (a config module)
                found.hosts.append(flow.owner(literal, src).loc(literal))


def _module_site(
    src: _Source, aliases: _Aliases, settings: list[tuple[str, ast.expr, int]], found: _Findings
) -> None:
    alias = sorted(aliases.modules)[0] if aliases.modules else "posthog"
    kwargs = {"<module>": alias}
    autocapture: bool | str | None = None
    for attr, value, _ in settings:
        kwargs[attr] = _text(src, value)
        if attr == "enable_exception_autocapture":
            literal = value.value if isinstance(value, ast.Constant) else None
            autocapture = literal if isinstance(literal, bool) else "dynamic"
    first = min(line for _, _, line in settings)
    found.constructions.append(
        PosthogConstructionSite(src.loc(src.tree, first), kwargs, autocapture)
    )


def _posthog_named(flow: _Flow, sources: list[_Source], found: _Findings) -> None:
    """Config keys named POSTHOG_* and the env names that feed them."""
    for key in list(flow.config):
        if "POSTHOG" in key.upper():
            found.config_keys.add(key)
            found.env_names |= flow.config_env(key).env_names


def _text(src: _Source, node: ast.AST) -> str:
    """The argument as written (``ast.unparse`` when the span is unknown)."""
    return src.segment(node) or ast.unparse(node)


def _client_names(nodes: t.Iterable[ast.AST], aliases: _Aliases) -> set[str]:
    """Names a PostHog client is stored under (``ph = Posthog()``, ``app.posthog = ...``)."""
    names: set[str] = set()
    for node in nodes:
        value = getattr(node, "value", None)
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(value, ast.Call)
            and aliases.is_client_class(value.func)
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {_last_name(target) for target in targets} - {""}
    return names


def _last_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _or_empty(config_key(node))
    return ""


def _is_posthog_receiver(node: ast.AST, aliases: _Aliases, client_names: set[str]) -> bool:
    if aliases.is_module(node) or _last_name(node) in client_names:
        return True
    return "posthog" in ast.unparse(node).lower()


def _is_shutdown_call(node: ast.AST, aliases: _Aliases, client_names: set[str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in SHUTDOWN_CALLS:
        return _is_posthog_receiver(func.value, aliases, client_names)
    return isinstance(func, ast.Name) and aliases.functions.get(func.id) in SHUTDOWN_CALLS


def _calls_shutdown(node: ast.AST, aliases: _Aliases, client_names: set[str]) -> bool:
    return any(_is_shutdown_call(n, aliases, client_names) for n in ast.walk(node))


def _shutdown_functions(tree: ast.Module, aliases: _Aliases, client_names: set[str]) -> set[str]:
    """Functions whose body shuts down or flushes a PostHog client (a call
    anywhere in a function's subtree, nested functions and decorators included,
    counts for it and for every function around it).

    One pass with the stack of enclosing functions, rather than a walk of each
    function's subtree (nested functions were walked once per level)."""
    found: set[str] = set()
    pending: list[tuple[ast.AST, tuple[str, ...]]] = [(tree, ())]
    while pending:
        node, enclosing = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            enclosing = (*enclosing, node.name)
        if enclosing and _is_shutdown_call(node, aliases, client_names):
            found.update(enclosing)
        pending.extend((child, enclosing) for child in ast.iter_child_nodes(node))
    return found


def _scan_atexit(
    src: _Source,
    aliases: _Aliases,
    client_names: set[str],
    shutdown_funcs: set[str],
    found: _Findings,
) -> None:
    for node in src.nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            marks = [d for d in node.decorator_list if aliases.is_atexit_register(d)]
            if marks and node.name in shutdown_funcs:
                found.atexit_sites.append(src.loc(marks[0]))
        elif (
            isinstance(node, ast.Call)
            and aliases.is_atexit_register(node.func)
            and node.args
            and _registers_shutdown(node.args[0], aliases, client_names, shutdown_funcs)
        ):
            found.atexit_sites.append(src.loc(node))


def _registers_shutdown(
    arg: ast.expr, aliases: _Aliases, client_names: set[str], shutdown_funcs: set[str]
) -> bool:
    if isinstance(arg, ast.Attribute) and arg.attr in SHUTDOWN_CALLS:
        return _is_posthog_receiver(arg.value, aliases, client_names)
    if isinstance(arg, ast.Lambda):
        return _calls_shutdown(arg.body, aliases, client_names)
    if isinstance(arg, ast.Name):
        return arg.id in shutdown_funcs or aliases.functions.get(arg.id) in SHUTDOWN_CALLS
    return False
