"""Following a value back to the environment variable it came from, by AST.

PostHog settings reach the SDK through a few hops: ``os.environ.get("Y")``
into ``app.config["X"]`` (or a ``Config`` class attribute) into
``Posthog(app.config["X"])``. :class:`EnvFlow` indexes every assignment in the
app's files once, then :meth:`EnvFlow.resolve` walks an expression back
through names and config keys::

    flow = EnvFlow(trees)
    found = flow.resolve(call.args[0])
    found.env_names    # {"Y"}
    found.config_keys  # {"X"}
"""

from __future__ import annotations

import ast
import dataclasses
import typing as t

# Hops through names and config keys before giving up; also stops cycles.
_MAX_DEPTH = 8
_ENV_CALLS = frozenset({"getenv"})  # os.getenv("X"), getenv("X")
_ENV_HELPERS = frozenset({"config", "env"})  # python-decouple config("X"), environs env("X")
_ENV_METHODS = frozenset({"get", "setdefault", "pop"})
_CONFIG_METHODS = frozenset({"update", "from_mapping", "setdefault"})


@dataclasses.dataclass
class Resolved:
    """What an expression was traced back to."""

    env_names: set[str] = dataclasses.field(default_factory=set)
    config_keys: set[str] = dataclasses.field(default_factory=set)
    literals: list[ast.Constant] = dataclasses.field(default_factory=list)


def env_name(node: ast.AST) -> str | None:
    """The variable name if ``node`` reads the environment, else None."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return _str(node.slice)
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _ENV_METHODS and _is_environ(func.value):
        return _str(node.args[0])
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name in _ENV_CALLS or (isinstance(func, ast.Name) and name in _ENV_HELPERS):
        return _str(node.args[0])
    if isinstance(func, ast.Attribute) and _dotted(func.value) == "env":
        return _str(node.args[0])  # environs: env.str("X"), env.bool("X")
    return None


def config_key(node: ast.AST) -> str | None:
    """``app.config["X"]``, ``config.get("X")`` or ``Settings.X`` -> ``"X"``."""
    if isinstance(node, ast.Subscript) and _is_config(node.value):
        return _str(node.slice)
    if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
        is_get = node.func.attr == "get" and _is_config(node.func.value)
        return _str(node.args[0]) if is_get else None
    if isinstance(node, ast.Attribute) and node.attr.isupper() and len(node.attr) > 1:
        return node.attr  # a settings object or Config class attribute
    return None


class EnvFlow:
    """An index of the assignments in a set of parsed files."""

    def __init__(self, trees: t.Iterable[ast.Module]) -> None:
        self.names: dict[str, list[ast.expr]] = {}
        self.config: dict[str, list[ast.expr]] = {}
        for tree in trees:
            for node in ast.walk(tree):
                self._index(node)

    def _index(self, node: ast.AST) -> None:
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:  # class Config: POSTHOG_KEY = os.environ[...]
                for name, value in _assigned(stmt):
                    if isinstance(name, ast.Name) and name.id.isupper():
                        self.config.setdefault(name.id, []).append(value)
        for target, value in _assigned(node):
            if isinstance(target, ast.Name):
                self.names.setdefault(target.id, []).append(value)
            key = config_key(target) if isinstance(target, ast.Subscript) else None
            if key is not None:
                self.config.setdefault(key, []).append(value)
        func = node.func if isinstance(node, ast.Call) else None
        is_update = isinstance(func, ast.Attribute) and func.attr in _CONFIG_METHODS
        if is_update and _is_config(t.cast(ast.Attribute, func).value):
            self._index_update(t.cast(ast.Call, node))

    def _index_update(self, call: ast.Call) -> None:
        """``app.config.update(X=...)`` and ``app.config.update({"X": ...})``."""
        for keyword in call.keywords:
            if keyword.arg:
                self.config.setdefault(keyword.arg, []).append(keyword.value)
        for arg in call.args:
            if isinstance(arg, ast.Dict):
                for key, value in zip(arg.keys, arg.values, strict=True):
                    if key is not None and _str(key):
                        self.config.setdefault(t.cast(str, _str(key)), []).append(value)

    def resolve(self, node: ast.AST) -> Resolved:
        """Trace ``node`` back to env names, config keys and string literals.
        An environment read's default is a fallback, not a literal value."""
        found = Resolved()
        self._resolve(node, 0, found, set())
        return found

    def _resolve(self, node: ast.AST, depth: int, found: Resolved, seen: set[str]) -> None:
        if depth > _MAX_DEPTH:
            return
        name = env_name(node)
        if name is not None:
            found.env_names.add(name)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.literals.append(node)
            return
        key = config_key(node)
        if key is not None:
            found.config_keys.add(key)
            self._follow(f"config:{key}", self.config.get(key, []), depth, found, seen)
            return
        if isinstance(node, ast.Name):
            self._follow(f"name:{node.id}", self.names.get(node.id, []), depth, found, seen)
            return
        for child in ast.iter_child_nodes(node):
            self._resolve(child, depth + 1, found, seen)

    def _follow(
        self, ref: str, values: list[ast.expr], depth: int, found: Resolved, seen: set[str]
    ) -> None:
        if ref in seen:
            return
        seen.add(ref)
        for value in values:
            self._resolve(value, depth + 1, found, seen)

    def config_env(self, key: str) -> Resolved:
        """What a config key is assigned from, across every file."""
        found = Resolved()
        self._follow(f"config:{key}", self.config.get(key, []), 0, found, set())
        return found


def _assigned(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    if isinstance(node, ast.Assign):
        return [(target, node.value) for target in node.targets]
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
        return [(node.target, node.value)]
    return []


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_config(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "config") or (
        isinstance(node, ast.Name) and node.id in ("config", "settings")
    )


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _str(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None
