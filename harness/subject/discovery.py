"""Finding the Flask app in a folder, from its source alone.

The app under judgement is untrusted, and this runs in the pytest process, so
nothing is imported: every decision is made on the :mod:`ast` of the files.
The order, first match wins::

    1. the manifest's ``app`` (posthog-verify.toml or [tool.posthog-verify])
    2. FLASK_APP in the environment
    3. FLASK_APP in .env, then .flaskenv (Flask's own precedence)
    4. conventions: wsgi.py, app.py, application.py, main.py, server.py,
       run.py, then <pkg>/__init__.py and <pkg>/app.py, then src/<pkg>/...

In a module, as Flask's ``find_best_app`` does: an ``app``/``application``
binding, else the one ``Flask(...)`` instance, else a ``create_app``/``make_app``
factory callable with no arguments. Use::

    location = discover(Path("my_app"), environ={})
    location.target      # "app:create_app"
    location.found_by    # "convention: app.py defines create_app"

Failures raise :class:`DiscoveryError`, whose message names the folder, every
place tried with what was found there, and the fix.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import os
import typing as t
from pathlib import Path

from harness.static.walk import is_skipped_dir
from harness.static.walk import parse_expression
from harness.static.walk import parse_file
from harness.subject.manifest import Manifest
from harness.subject.manifest import load_manifest

CONVENTION_FILES = ("wsgi.py", "app.py", "application.py", "main.py", "server.py", "run.py")
PACKAGE_FILES = ("__init__.py", "app.py")
FACTORY_NAMES = ("create_app", "make_app")
INSTANCE_NAMES = ("app", "application")
_FIX = (
    "Fix: add posthog-verify.toml to the app's folder with "
    'app = "module:factory" (e.g. app = "app:create_app") or app = "module:app", '
    "or set FLASK_APP (e.g. FLASK_APP=app:create_app in .flaskenv)."
)


class AppKind(enum.StrEnum):
    """What the target names: a factory to call, or a ready app object."""

    FACTORY = "factory"
    INSTANCE = "instance"


@dataclasses.dataclass(frozen=True)
class AppLocation:
    """Where the app is and how to get it.

    :param target: ``"module:attribute"``, e.g. ``"app:create_app"``.
    :param found_by: how it was found, for reports and error messages.
    :param import_root: the folder to put first on ``sys.path`` (the app's
        root, or ``root/src`` for a src layout).
    :param call_args: for ``FLASK_APP=module:create_app('x')``, the literal
        arguments' source text (``"'x'"``); None otherwise.
    """

    target: str
    kind: AppKind
    found_by: str
    import_root: Path
    source_file: Path
    call_args: str | None = None

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def attr(self) -> str:
        return self.target.partition(":")[2]


class DiscoveryError(Exception):
    """The app could not be found, or its source does not parse.

    :param app_raised: True when the app's own code is at fault (a file that
        does not parse): a verdict on the app, not a harness error.
    :param location: ``file:line`` of that fault, relative to the root.
    """

    def __init__(self, message: str, *, app_raised: bool = False, location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.app_raised = app_raised
        self.location = location


@dataclasses.dataclass
class _Module:
    """What a module's top level binds, read from its AST."""

    path: Path
    factories: dict[str, tuple[int, tuple[str, ...]]]  # name -> (line, required args)
    instances: dict[str, int]  # name = Flask(...)
    bindings: dict[str, int]  # app = create_app(), from x import app, ...
    names: list[str]
    flask_names: set[str] = dataclasses.field(default_factory=lambda: {"Flask"})


def discover(
    root: Path,
    *,
    environ: t.Mapping[str, str] | None = None,
    manifest: Manifest | None = None,
) -> AppLocation:
    """Find the Flask app in ``root`` without importing anything.

    :param environ: where to read ``FLASK_APP``; None means ``os.environ``
        (pass ``{}`` when judging many apps, so one shell variable does not
        apply to all of them).
    :param manifest: the app's manifest; None loads it from ``root``.
    :raises DiscoveryError: nothing found, ambiguous, or a candidate does not
        parse (then ``app_raised`` is True).
    :raises harness.subject.manifest.ManifestError: the manifest is invalid.
    """
    root = Path(root)
    manifest = manifest if manifest is not None else load_manifest(root)
    if manifest is not None and manifest.app:
        return _locate(root, manifest.app, f"manifest ({manifest.label})")
    environ = os.environ if environ is None else environ
    if environ.get("FLASK_APP"):
        return _locate(root, environ["FLASK_APP"], "FLASK_APP in the environment")
    for name in (".env", ".flaskenv"):
        value = _dotenv(root / name).get("FLASK_APP")
        if value:
            return _locate(root, value, f"FLASK_APP in {name}")
    return _by_convention(root, manifest)


def _dotenv(path: Path) -> dict[str, str]:
    """Parse simple ``KEY=VALUE`` lines (``export``, quotes, comments)."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values


# -- an explicit target: manifest or FLASK_APP ---------------------------------


def _locate(root: Path, value: str, found_by: str) -> AppLocation:
    """Resolve ``module``, ``module:name``, ``module:factory(args)`` or a path."""
    where, _, expr = value.strip().partition(":")
    name, call_args = _parse_attr(expr, value, found_by) if expr else (None, None)
    if where.endswith(".py") or "/" in where or os.sep in where:
        import_root, module, path = _from_path(root, where, value, found_by)
    else:
        import_root, path = _module_file(root, where, value, found_by)
        module = where
    info = _parse(path, root)
    if name is None:
        best = _best(info, module, root)
        if best is None:
            raise DiscoveryError(
                f"{found_by} is {value!r}: no Flask app or factory found in module "
                f"'{module}' ({_rel(path, root)}): {_describe(info)}\n"
                f"Fix: name it, e.g. '{module}:name' or '{module}:create_app'."
            )
        name, kind = best
    else:
        kind = _explicit_kind(info, module, name, call_args, (root, value, found_by))
    return AppLocation(f"{module}:{name}", kind, found_by, import_root, path, call_args)


def _parse_attr(expr: str, value: str, found_by: str) -> tuple[str, str | None]:
    """``name`` or ``name(literal, args)``, parsed as Flask's ``locate_app`` does."""
    try:
        node = parse_expression(expr.strip())
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        return node.id, None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        try:
            for arg in (*node.args, *(k.value for k in node.keywords)):
                ast.literal_eval(arg)
        except ValueError:
            raise DiscoveryError(
                f"{found_by} is {value!r}: the arguments to {node.func.id}() must be "
                "literal values (strings, numbers), not expressions."
            ) from None
        return node.func.id, expr.strip()[expr.index("(") + 1 : -1].strip()
    raise DiscoveryError(
        f"{found_by} is {value!r}: {expr!r} is not a name or a call to one. "
        "Use 'module:name' or 'module:create_app()'."
    )


def _module_file(root: Path, module: str, value: str, found_by: str) -> tuple[Path, Path]:
    parts = module.split(".")
    for base in (root, root / "src"):
        for path in (
            base.joinpath(*parts).with_suffix(".py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if path.is_file():
                return base, path
    raise DiscoveryError(
        f"{found_by} is {value!r}, but module '{module}' is not in {root}: "
        f"looked for {'/'.join(parts)}.py and {'/'.join(parts)}/__init__.py, also under src/.\n"
        f"{_FIX}"
    )


def _from_path(root: Path, where: str, value: str, found_by: str) -> tuple[Path, str, Path]:
    """A file path: walk up through packages, as Flask's ``prepare_import`` does."""
    path = root / where
    if path.is_dir():
        path = path / "__init__.py"
    if not path.is_file():
        raise DiscoveryError(f"{found_by} is {value!r}, but {path} does not exist.\n{_FIX}")
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder != root:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts), path


def _explicit_kind(
    info: _Module, module: str, name: str, call_args: str | None, ctx: tuple[Path, str, str]
) -> AppKind:
    root, value, found_by = ctx
    if name in info.factories:
        line, required = info.factories[name]
        if required and call_args is None:
            raise DiscoveryError(
                f"{found_by} is {value!r}: {_rel(info.path, root)}:{line} defines "
                f"{name}({', '.join(required)}), which needs arguments the harness cannot guess.\n"
                f"Fix: pass literal arguments, e.g. app = \"{module}:{name}('production')\" "
                "in posthog-verify.toml, or give them defaults."
            )
        return AppKind.FACTORY
    if name not in info.names:
        raise DiscoveryError(
            f"{found_by} is {value!r}, but module '{module}' ({_rel(info.path, root)}) "
            f"has no top-level '{name}': {_describe(info)}"
        )
    if call_args is not None or name.startswith(("create_", "make_")):
        return AppKind.FACTORY
    return AppKind.INSTANCE


# -- reading a module ---------------------------------------------------------


def _parse(path: Path, root: Path) -> _Module:
    try:
        tree = parse_file(path)
    except SyntaxError as exc:
        where = f"{_rel(path, root)}:{exc.lineno}"
        raise DiscoveryError(
            f"{where}: the app's source does not parse: {exc.msg}"
            + (f"\n    {exc.text.strip()}" if exc.text else "")
            + f"\nIt was a candidate for the Flask app in {root}; fix the syntax error.",
            app_raised=True,
            location=where,
        ) from None
    except ValueError as exc:  # e.g. null bytes
        raise DiscoveryError(
            f"{_rel(path, root)}: the app's source cannot be read: {exc}",
            app_raised=True,
            location=_rel(path, root),
        ) from None
    info = _Module(path, {}, {}, {}, [])
    for node in tree.body:
        _read_statement(node, info)
    return info


def _read_statement(node: ast.stmt, info: _Module) -> None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        info.names.append(node.name)
        info.factories[node.name] = (node.lineno, _required_args(node.args))
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                info.names.append(target.id)
                if _is_flask_call(node.value, info.flask_names):
                    info.instances[target.id] = node.lineno
                elif target.id in INSTANCE_NAMES and _may_be_app(node.value):
                    # `application = _build()`: Flask's own lookup imports the
                    # module and takes the attribute; the child checks it is a
                    # Flask app when it imports it.
                    info.bindings[target.id] = node.lineno
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            info.names.append(bound)
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "flask"
                and alias.name == "Flask"
            ):
                info.flask_names.add(bound)  # from flask import Flask as F
            # `from x import app` re-exports an app; `import app` binds a module.
            if bound in INSTANCE_NAMES and isinstance(node, ast.ImportFrom):
                info.bindings[bound] = node.lineno
    elif isinstance(node, ast.ClassDef):
        info.names.append(node.name)


def _required_args(args: ast.arguments) -> tuple[str, ...]:
    positional = [*args.posonlyargs, *args.args]
    required = positional[: len(positional) - len(args.defaults)]
    kwonly = [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    return tuple(a.arg for a in (*required, *kwonly))


def _is_flask_call(value: ast.expr | None, flask_names: set[str]) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    return (isinstance(func, ast.Name) and func.id in flask_names) or (
        isinstance(func, ast.Attribute) and func.attr == "Flask"
    )


def _may_be_app(value: ast.expr | None) -> bool:
    """A call or a name (``build()``, ``factory.create()``, ``other_app``),
    not a literal: what an ``app``/``application`` binding can hold."""
    return isinstance(value, ast.Call | ast.Name | ast.Attribute)


def _best(info: _Module, module: str, root: Path) -> tuple[str, AppKind] | None:
    """Flask's ``find_best_app`` order on the AST; raises on two instances."""
    for name in INSTANCE_NAMES:
        if name in info.instances or name in info.bindings:
            return name, AppKind.INSTANCE
    if len(info.instances) == 1:
        return next(iter(info.instances)), AppKind.INSTANCE
    if len(info.instances) > 1:
        found = ", ".join(f"{n} (line {ln})" for n, ln in info.instances.items())
        raise DiscoveryError(
            f"{_rel(info.path, root)} creates several Flask apps: {found}; none is "
            f"named app or application.\nFix: add posthog-verify.toml with "
            f'app = "{module}:<name>" naming the one to test.'
        )
    for name in FACTORY_NAMES:
        if name in info.factories and not info.factories[name][1]:
            return name, AppKind.FACTORY
    return None


def _describe(info: _Module) -> str:
    """What a module holds, for 'found nothing usable here' messages."""
    shown = ", ".join(dict.fromkeys(info.names)) or "nothing"
    needy = [
        f"{name}({', '.join(req)}) needs arguments"
        for name, (_, req) in info.factories.items()
        if req and name in FACTORY_NAMES
    ]
    if needy:
        return "; ".join(needy) + f" (top level defines: {shown})."
    return (
        "no Flask(...) instance, no app/application and no create_app/make_app "
        f"(top level defines: {shown})."
    )


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# -- conventions --------------------------------------------------------------


def _candidates(root: Path) -> t.Iterator[tuple[int, Path, Path, str]]:
    """(tier, import_root, file, module) in precedence order. Files of one tier
    are distinct packages: two apps there are ambiguous."""
    for tier, name in enumerate(CONVENTION_FILES):
        yield tier, root, root / name, name.removesuffix(".py")
    tier = len(CONVENTION_FILES)
    for base in (root, root / "src"):
        tier += 1
        for pkg in _packages(base):
            for name in PACKAGE_FILES:
                module = pkg.name if name == "__init__.py" else f"{pkg.name}.app"
                yield tier, base, pkg / name, module


def _packages(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return [
        d
        for d in sorted(base.iterdir())
        if d.is_dir() and d.name.isidentifier() and not is_skipped_dir(d) and d.name != "src"
        if any((d / f).is_file() for f in PACKAGE_FILES)
    ]


def _by_convention(root: Path, manifest: Manifest | None) -> AppLocation:
    tried: list[str] = []
    missing: list[str] = []
    found: list[tuple[int, AppLocation, str]] = []
    for tier, import_root, path, module in _candidates(root):
        if found and tier != found[0][0]:
            break
        if not path.is_file():
            missing.append(_rel(path, root))
            continue
        info = _parse(path, root)
        best = _best(info, module, root)
        if best is None:
            tried.append(f"{_rel(path, root)}: {_describe(info)}")
            continue
        name, kind = best
        line = info.instances.get(name) or info.bindings.get(name) or info.factories[name][0]
        found_by = f"convention: {_rel(path, root)} defines {name}"
        location = AppLocation(f"{module}:{name}", kind, found_by, import_root, path)
        found.append((tier, location, f"{_rel(path, root)}:{line} {name} ({kind.value})"))
        if tier < len(CONVENTION_FILES):
            break  # a named file: the first one wins outright
    distinct = {f[1].source_file.parent for f in found}
    if found and len(distinct) == 1:
        return found[0][1]
    if found:
        raise DiscoveryError(
            f"Several Flask apps found in {root}, none preferred:\n"
            + "".join(f"  - {f[2]}\n" for f in found)
            + f'Fix: add posthog-verify.toml with app = "{found[0][1].target}" '
            "(naming the one to test), or set FLASK_APP."
        )
    raise DiscoveryError(_nothing_found(root, manifest, tried, missing))


def _nothing_found(
    root: Path, manifest: Manifest | None, tried: list[str], missing: list[str]
) -> str:
    lines = [f"No Flask app found in {root}. Looked at:"]
    lines.append(
        f"  - manifest: {manifest.label} has no 'app'"
        if manifest
        else "  - manifest: no posthog-verify.toml, no [tool.posthog-verify] in pyproject.toml"
    )
    lines.append("  - FLASK_APP: not set in the environment, .env or .flaskenv")
    lines += [f"  - {entry}" for entry in tried]
    absent = [m for m in missing if "/" not in m]
    if absent:
        lines.append(f"  - not present: {', '.join(absent)}")
    if not any("/" in entry.split(":")[0] for entry in tried):
        lines.append("  - packages: no <pkg>/__init__.py or <pkg>/app.py defines an app")
    lines.append(_FIX)
    return "\n".join(lines)
