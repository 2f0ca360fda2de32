"""Discovery: each case is a tiny app folder under tests/apps/discovery/."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.subject.discovery import AppKind
from harness.subject.discovery import DiscoveryError
from harness.subject.discovery import discover
from harness.subject.manifest import load_manifest
from target_apps.materialize import app_dir
from target_apps.materialize import names

APPS = Path(__file__).parents[1] / "apps" / "discovery"
TARGET_APPS = Path(__file__).parents[2] / "target_apps"


@pytest.mark.parametrize(
    ("case", "environ", "target", "kind", "found_by", "import_root", "source", "call_args"),
    [
        pytest.param(
            "factory_in_app_py", {}, "app:create_app", AppKind.FACTORY,
            "convention: app.py defines create_app", "", "app.py", None, id="factory-app-py",
        ),
        pytest.param(
            "factory_in_package", {}, "shop:create_app", AppKind.FACTORY,
            "convention: shop/__init__.py defines create_app", "", "shop/__init__.py", None,
            id="factory-package-init",
        ),
        pytest.param(
            "wsgi_instance", {}, "wsgi:app", AppKind.INSTANCE,
            "convention: wsgi.py defines app", "", "wsgi.py", None, id="wsgi-instance",
        ),
        pytest.param(
            "wsgi_over_package", {}, "wsgi:app", AppKind.INSTANCE,
            "convention: wsgi.py defines app", "", "wsgi.py", None, id="wsgi-beats-package",
        ),
        pytest.param(
            "application_instance", {}, "application:application", AppKind.INSTANCE,
            "convention: application.py defines application", "", "application.py", None,
            id="aliased-flask-class",
        ),
        pytest.param(
            "application_from_helper", {}, "application:application", AppKind.INSTANCE,
            "convention: application.py defines application", "", "application.py", None,
            id="application-built-by-a-helper",
        ),
        pytest.param(
            "src_layout", {}, "store:make_app", AppKind.FACTORY,
            "convention: src/store/__init__.py defines make_app", "src", "src/store/__init__.py",
            None, id="src-layout",
        ),
        pytest.param(
            "skips_venv", {}, "run:app", AppKind.INSTANCE,
            "convention: run.py defines app", "", "run.py", None, id="skips-venv-node-modules",
        ),
        pytest.param(
            "flaskenv", {}, "service:make_service", AppKind.FACTORY,
            "FLASK_APP in .flaskenv", "", "service.py", None, id="flaskenv",
        ),
        pytest.param(
            "flaskenv", {"FLASK_APP": "service:make_service"}, "service:make_service",
            AppKind.FACTORY, "FLASK_APP in the environment", "", "service.py", None,
            id="environ-beats-flaskenv",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:build_app()"}, "factory:build_app",
            AppKind.FACTORY, "FLASK_APP in the environment", "", "factory.py", "",
            id="flask-app-factory-call",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:create_app('testing')"},
            "factory:create_app", AppKind.FACTORY, "FLASK_APP in the environment", "",
            "factory.py", "'testing'", id="flask-app-factory-args",
        ),
        pytest.param(
            "flask_app_path", {"FLASK_APP": "web/server_app.py"}, "web.server_app:server",
            AppKind.INSTANCE, "FLASK_APP in the environment", "", "web/server_app.py", None,
            id="flask-app-file-path",
        ),
        pytest.param(
            "manifest_app", {"FLASK_APP": "nowhere:app"}, "service.entry:build", AppKind.FACTORY,
            "manifest (posthog-verify.toml)", "", "service/entry.py", None,
            id="manifest-beats-flask-app",
        ),
    ],
)  # fmt: skip
def test_discover_finds(
    case: str,
    environ: dict[str, str],
    target: str,
    kind: AppKind,
    found_by: str,
    import_root: str,
    source: str,
    call_args: str | None,
) -> None:
    root = APPS / case
    location = discover(root, environ=environ)
    assert location.target == target
    assert location.kind is kind
    assert location.found_by == found_by
    assert location.import_root == (root / import_root if import_root else root)
    assert location.source_file == root / source
    assert location.call_args == call_args


@pytest.mark.parametrize(
    ("case", "environ", "phrases"),
    [
        pytest.param(
            "ambiguous", {},
            ["Several Flask apps found in", "alpha/__init__.py:4 create_app (factory)",
             "beta/__init__.py:4 create_app (factory)",
             'add posthog-verify.toml with app = "alpha:create_app"'],
            id="ambiguous-packages",
        ),
        pytest.param(
            "none_found", {},
            ["No Flask app found in", "none_found. Looked at:",
             "manifest: no posthog-verify.toml, no [tool.posthog-verify] in pyproject.toml",
             "FLASK_APP: not set in the environment, .env or .flaskenv",
             "app.py: no Flask(...) instance, no app/application and no create_app/make_app "
             "(top level defines: helper, ROUTES)",
             "not present: wsgi.py, application.py, main.py, server.py, run.py",
             'Fix: add posthog-verify.toml to the app\'s folder with app = "module:factory"'],
            id="none-found-ignores-tests-folder",
        ),
        pytest.param(
            "factory_needs_args", {},
            ["app.py: create_app(config_name) needs arguments", "Fix: add posthog-verify.toml"],
            id="factory-needs-args",
        ),
        pytest.param(
            "two_instances", {},
            ["main.py creates several Flask apps: public (line 3), admin (line 4)",
             'app = "main:<name>"'],
            id="two-instances-one-module",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:create_app"},
            ["FLASK_APP in the environment is 'factory:create_app'",
             "factory.py:8 defines create_app(config_name), which needs arguments",
             "app = \"factory:create_app('production')\""],
            id="flask-app-factory-missing-args",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:create_app(os.environ)"},
            ["arguments to create_app() must be literal values"],
            id="flask-app-non-literal-args",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:nope"},
            ["module 'factory' (factory.py) has no top-level 'nope'",
             "top level defines: Flask, build_app, create_app"],
            id="flask-app-unknown-name",
        ),
        pytest.param(
            "flaskenv", {"FLASK_APP": "service"},
            ["FLASK_APP in the environment is 'service': no Flask app or factory found in "
             "module 'service' (service.py)", "Fix: name it, e.g. 'service:name'"],
            id="flask-app-module-without-conventional-name",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "missing_mod"},
            ["module 'missing_mod' is not in", "missing_mod.py and missing_mod/__init__.py"],
            id="flask-app-missing-module",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "factory:1 + 1"},
            ["'1 + 1' is not a name or a call to one"],
            id="flask-app-not-a-name",
        ),
        pytest.param(
            "flask_app_env", {"FLASK_APP": "web/nothing.py"},
            ["FLASK_APP in the environment is 'web/nothing.py'", "does not exist"],
            id="flask-app-missing-file",
        ),
    ],
)  # fmt: skip
def test_discover_raises(case: str, environ: dict[str, str], phrases: list[str]) -> None:
    with pytest.raises(DiscoveryError) as info:
        discover(APPS / case, environ=environ)
    for phrase in phrases:
        assert phrase in str(info.value)
    assert info.value.app_raised is False


@pytest.mark.parametrize(
    ("name", "source", "line"),
    [
        pytest.param("app.py", "from flask import Flask\n\napp = Flask(__name__\n", 3, id="app-py"),
        pytest.param("wsgi.py", "def create_app(:\n    pass\n", 1, id="wsgi-py"),
    ],
)
def test_syntax_error_in_candidate_names_file_and_line(
    tmp_path: Path, name: str, source: str, line: int
) -> None:
    # Written at test time: a file that does not parse would break `ruff check`.
    (tmp_path / name).write_text(source)
    with pytest.raises(DiscoveryError) as info:
        discover(tmp_path, environ={})
    assert str(info.value).startswith(f"{name}:{line}: the app's source does not parse")
    assert info.value.app_raised is True
    assert info.value.location == f"{name}:{line}"


def test_dotenv_wins_over_flaskenv_and_parses_quotes(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text("from flask import Flask\nfirst = Flask('a')\n")
    (tmp_path / "two.py").write_text("from flask import Flask\nsecond = Flask('b')\n")
    (tmp_path / ".flaskenv").write_text("FLASK_APP=one\n")
    (tmp_path / ".env").write_text("# local\nexport FLASK_APP='two:second'  \n")
    location = discover(tmp_path, environ={})
    assert (location.target, location.found_by) == ("two:second", "FLASK_APP in .env")


def test_environ_none_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_APP", "factory:build_app")
    location = discover(APPS / "flask_app_env")
    assert location.found_by == "FLASK_APP in the environment"


def test_explicit_manifest_is_used(tmp_path: Path) -> None:
    (tmp_path / "posthog-verify.toml").write_text('app = "wsgi:application"\n')
    (tmp_path / "wsgi.py").write_text("from flask import Flask\napplication = Flask('x')\n")
    manifest = load_manifest(tmp_path)
    location = discover(tmp_path, environ={}, manifest=manifest)
    assert location.target == "wsgi:application"
    assert location.kind is AppKind.INSTANCE


def test_function_local_flask_is_not_an_instance(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from flask import Flask\n\ndef helper():\n    app = Flask('x')\n"
    )
    with pytest.raises(DiscoveryError, match="top level defines: Flask, helper"):
        discover(tmp_path, environ={})


def _target_app_dirs() -> list[Path]:
    return [app_dir(name) for name in names()]


@pytest.mark.parametrize("root", _target_app_dirs(), ids=lambda p: p.name)
def test_discover_finds_every_target_app(root: Path) -> None:
    location = discover(root, environ={})
    assert location.source_file.is_file()
    if root.name == "manifest_app":
        assert location.found_by.startswith("manifest")
