"""The manifest loader: a full valid example, then one case per error."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.ids import CHECK_IDS
from harness.scenario.placeholders import expand
from harness.subject.manifest import FormSpec
from harness.subject.manifest import ManifestError
from harness.subject.manifest import StepSpec
from harness.subject.manifest import expand_env
from harness.subject.manifest import load_manifest

FULL = """
app = "shop:create_app"

[signup]
path = "/register"
fields = { email = "{canary.email}", full_name = "{canary.name}", password = "{secret}" }

[login]
path = "/api/login"
method = "put"
json = { user = { email = "{canary.email}" }, password = "{canary.password}" }

[logout]
path = "/logout"

[[steps]]
name = "search"
method = "POST"
path = "/search"
fields = { q = "{canary.text}" }
headers = { X-Test = "1" }
kind = "api"
expect = "2xx"

[[steps]]
name = "about"
path = "/about"

[errors]
paths = ["/boom"]

[skip]
flush_on_shutdown = "the app runs under a worker that exits with os._exit"
"""


def _write(root: Path, text: str, name: str = "posthog-verify.toml") -> Path:
    (root / name).write_text(text)
    return root


def test_full_manifest(tmp_path: Path) -> None:
    manifest = load_manifest(_write(tmp_path, FULL))
    assert manifest is not None
    assert manifest.source == tmp_path / "posthog-verify.toml"
    assert manifest.label == "posthog-verify.toml"
    assert manifest.app == "shop:create_app"
    assert manifest.signup == FormSpec(
        path="/register",
        method="POST",
        fields={"email": "{canary.email}", "full_name": "{canary.name}", "password": "{secret}"},
    )
    assert manifest.login == FormSpec(
        path="/api/login",
        method="PUT",
        json={"user": {"email": "{canary.email}"}, "password": "{canary.password}"},
    )
    assert manifest.logout == FormSpec(path="/logout", method="GET")
    assert manifest.steps == (
        StepSpec(
            name="search",
            method="POST",
            path="/search",
            fields={"q": "{canary.text}"},
            headers={"X-Test": "1"},
            kind="api",
            expect="2xx",
        ),
        StepSpec(name="about", method="GET", path="/about"),
    )
    assert manifest.error_paths == ("/boom",)
    assert manifest.skip == {
        "flush_on_shutdown": "the app runs under a worker that exits with os._exit"
    }


def test_no_manifest_is_none(tmp_path: Path) -> None:
    _write(tmp_path, "[project]\nname = 'x'\n", "pyproject.toml")
    assert load_manifest(tmp_path) is None


def test_pyproject_table(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[project]\nname = "x"\n[tool.posthog-verify]\napp = "wsgi:app"\n',
        "pyproject.toml",
    )
    manifest = load_manifest(tmp_path)
    assert manifest is not None
    assert (manifest.app, manifest.label) == ("wsgi:app", "pyproject.toml [tool.posthog-verify]")


def test_check_ids_cover_the_catalogue() -> None:
    catalogue = (Path(__file__).parents[2] / "docs" / "checks.md").read_text()
    assert len(CHECK_IDS) == 17
    for check_id in CHECK_IDS:
        assert f"| `{check_id}` |" in catalogue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[signup]\npath = "/s"\nfeilds = { a = "b" }\n',
            "posthog-verify.toml: [signup] key 'feilds' is not allowed; allowed: path, method, "
            "fields, json. Did you mean 'fields'?",
            id="unknown-key-did-you-mean",
        ),
        pytest.param(
            'ap = "x:y"\n',
            "posthog-verify.toml: key 'ap' is not allowed; allowed: app, signup, login, logout, "
            "steps, errors, skip, env, setup, python, baseline, events. Did you mean 'app'?",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "[signup]\npath = 42\n",
            "posthog-verify.toml: [signup] 'path' must be a string starting with '/', got 42",
            id="wrong-type-path",
        ),
        pytest.param(
            '[login]\npath = "login"\n',
            "posthog-verify.toml: [login] 'path' must be a string starting with '/', got 'login'",
            id="path-without-slash",
        ),
        pytest.param(
            'signup = "/signup"\n',
            "posthog-verify.toml: 'signup' must be a table, got a string",
            id="wrong-type-table",
        ),
        pytest.param(
            '[signup]\npath = "/s"\nfields = { age = 3 }\n',
            "posthog-verify.toml: [signup] 'fields.age' must be a string, got int",
            id="wrong-type-field-value",
        ),
        pytest.param(
            '[signup]\npath = "/s"\nfields = { a = "b" }\njson = { a = "b" }\n',
            "posthog-verify.toml: [signup] set 'fields' (a form) or 'json' (a JSON body), not both",
            id="fields-and-json",
        ),
        pytest.param(
            '[login]\npath = "/l"\nmethod = "FETCH"\n',
            "posthog-verify.toml: [login] 'method' must be one of GET, POST, PUT, PATCH, DELETE, "
            "got 'FETCH'",
            id="bad-method",
        ),
        pytest.param(
            '[signup]\npath = "/s"\nfields = { email = "{canary.emial}" }\n',
            "posthog-verify.toml: [signup] 'fields.email' uses unknown placeholder "
            "'{canary.emial}'; known: {canary.address}, {canary.email}, {canary.first_name}, "
            "{canary.ip}, {canary.last_name}, {canary.name}, {canary.password}, "
            "{canary.phone}, {canary.probe}, {canary.text}, {canary.username}, "
            "{identity.distinct_id}, {identity.session_id}, {secret}. "
            "Did you mean '{canary.email}'?",
            id="bad-placeholder",
        ),
        pytest.param(
            '[login]\npath = "/l"\njson = { user = { name = "{user}" } }\n',
            "posthog-verify.toml: [login] 'json.user.name' uses unknown placeholder '{user}'",
            id="bad-placeholder-nested-json",
        ),
        pytest.param(
            '[signup]\nmethod = "POST"\n',
            "posthog-verify.toml: [signup] 'path' is required",
            id="missing-path",
        ),
        pytest.param(
            '[[steps]]\nname = "x"\npath = "/x"\nkind = "signup"\n',
            "posthog-verify.toml: [[steps]] #1 'kind' must be one of browse, api, other, "
            "got 'signup'",
            id="bad-step-kind",
        ),
        pytest.param(
            '[[steps]]\nname = "x"\npath = "/x"\n'
            '[[steps]]\nname = "y"\npath = "/y"\nexpect = "200"\n',
            "posthog-verify.toml: [[steps]] #2 'expect' must be one of 2xx, 3xx, 4xx, 5xx, any, "
            "got '200'",
            id="bad-step-expect",
        ),
        pytest.param(
            '[[steps]]\nname = "x"\npath = "/x"\nheader = { A = "b" }\n',
            "posthog-verify.toml: [[steps]] #1 key 'header' is not allowed; allowed: name, "
            "method, path, fields, json, headers, kind, expect. Did you mean 'headers'?",
            id="bad-step-key",
        ),
        pytest.param(
            '[errors]\npaths = "/boom"\n',
            "posthog-verify.toml: [errors] 'paths' must be an array of strings, got a string",
            id="errors-paths-not-array",
        ),
        pytest.param(
            '[skip]\nboot = "slow"\n',
            "posthog-verify.toml: [skip] key 'boot' is not allowed; allowed: boots,",
            id="skip-unknown-check",
        ),
        pytest.param(
            '[skip]\nboots = ""\n',
            "posthog-verify.toml: [skip] 'boots' must be a non-empty reason string",
            id="skip-empty-reason",
        ),
        pytest.param(
            'app = "create_app()"\n',
            "posthog-verify.toml: 'app' must be a string like \"module:create_app\"",
            id="bad-app-target",
        ),
        pytest.param(
            '[signup]\npath = "/s"\nfields = { a = "b"\n',
            "posthog-verify.toml:3:19: invalid TOML: Unclosed inline table",
            id="bad-toml-line-column",
        ),
    ],
)
def test_manifest_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_write(tmp_path, text))
    assert str(info.value).startswith(expected), str(info.value)


def test_error_has_structured_fields(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_write(tmp_path, '[signup]\npath = "/s"\nfeilds = {}\n'))
    error = info.value
    assert (error.file, error.key, error.section) == (
        "posthog-verify.toml",
        "signup.feilds",
        "[signup]",
    )
    assert (error.line, error.column) == (None, None)


def test_bad_toml_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_write(tmp_path, 'app = "x:y"\n\nmethod = \n'))
    assert (info.value.line, info.value.column) == (3, 10)


def test_both_files_present(tmp_path: Path) -> None:
    _write(tmp_path, 'app = "a:b"\n')
    _write(tmp_path, '[tool.posthog-verify]\napp = "c:d"\n', "pyproject.toml")
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    assert str(info.value) == (
        "posthog-verify.toml: the manifest is also in pyproject.toml [tool.posthog-verify]; "
        "keep one: delete that table or this file"
    )


def test_pyproject_errors_name_the_nested_table(tmp_path: Path) -> None:
    _write(tmp_path, '[tool.posthog-verify.signup]\npath = "/s"\nfeilds = {}\n', "pyproject.toml")
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    assert str(info.value).startswith(
        "pyproject.toml: [tool.posthog-verify.signup] key 'feilds' is not allowed"
    )


def test_broken_pyproject_without_our_table_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "[project\n", "pyproject.toml")
    assert load_manifest(tmp_path) is None


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{canary.email}", "ada@example.test", id="whole"),
        pytest.param("hi {canary.name}, {secret}!", "hi Ada, s3cret!", id="several"),
        pytest.param('{"json": 1} {canary.name}', '{"json": 1} Ada', id="other-braces"),
        pytest.param("no placeholders", "no placeholders", id="none"),
    ],
)
def test_manifest_values_expand(template: str, expected: str) -> None:
    values = {"canary.email": "ada@example.test", "canary.name": "Ada", "secret": "s3cret"}
    assert expand(template, values) == expected


def test_expand_walks_json() -> None:
    body = {"user": {"email": "{canary.email}", "tags": ["{secret}", 3]}, "n": 1}
    assert expand(body, {"canary.email": "e", "secret": "s"}) == {
        "user": {"email": "e", "tags": ["s", 3]},
        "n": 1,
    }


def test_env_table_names_the_variables_to_inject(tmp_path: Path) -> None:
    _write(tmp_path, '[env]\ntoken = ["ANALYTICS_KEY"]\nhost = ["ANALYTICS_URL"]\n')
    manifest = load_manifest(tmp_path)
    assert manifest is not None
    assert (manifest.env_token, manifest.env_host) == (("ANALYTICS_KEY",), ("ANALYTICS_URL",))


def test_env_table_rejects_what_is_not_a_variable_name(tmp_path: Path) -> None:
    _write(tmp_path, '[env]\ntoken = ["not a name"]\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    assert str(caught.value) == (
        "posthog-verify.toml: [env] 'token' must be an array of environment variable names"
    )


def test_env_takes_the_apps_own_settings(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[env]\ntoken = ["ANALYTICS_KEY"]\nDATABASE_URL = "sqlite:///{workspace}/app.db"\n'
        'SECRET_KEY = "s3cret"\nBRACES = "{{literal}}"\n',
    )
    manifest = load_manifest(tmp_path)
    assert manifest is not None
    assert manifest.env_token == ("ANALYTICS_KEY",)  # the PostHog names still work
    assert manifest.env == {
        "DATABASE_URL": "sqlite:///{workspace}/app.db",
        "SECRET_KEY": "s3cret",
        "BRACES": "{{literal}}",
    }
    assert expand_env(manifest.env["DATABASE_URL"], Path("/w/app")) == "sqlite:////w/app/app.db"
    assert expand_env(manifest.env["BRACES"], Path("/w")) == "{literal}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[env]\nDATABASE_URL = "sqlite:///{workspce}/a.db"\n',
            "posthog-verify.toml: [env] 'DATABASE_URL' uses unknown placeholder '{workspce}'; "
            "known: {workspace} (write {{ and }} for literal braces)",
            id="unknown-placeholder",
        ),
        pytest.param(
            "[env]\nPORT = 5000\n",
            "posthog-verify.toml: [env] 'PORT' must be a string (quote it: PORT = \"5000\"), "
            "got int",
            id="not-a-string",
        ),
        pytest.param(
            '[env]\n"NOT A NAME" = "x"\n',
            "posthog-verify.toml: [env] 'NOT A NAME' is not an environment variable name",
            id="not-a-name",
        ),
    ],
)
def test_env_values_are_checked(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    assert str(info.value) == message


def test_setup_commands_are_strings_or_argv_lists(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[setup]\ncommands = ["flask db upgrade", ["flask", "seed", "a b"], '
        "\"python -c 'print(1)'\"]\n",
    )
    manifest = load_manifest(tmp_path)
    assert manifest is not None
    assert manifest.setup == (
        ("flask", "db", "upgrade"),
        ("flask", "seed", "a b"),
        ("python", "-c", "print(1)"),
    )


def test_no_setup_table_is_not_an_empty_one(tmp_path: Path) -> None:
    _write(tmp_path, 'app = "app:app"\n')
    without = load_manifest(tmp_path)
    _write(tmp_path, "[setup]\ncommands = []\n")
    empty = load_manifest(tmp_path)
    assert without is not None
    assert empty is not None
    assert (without.setup, empty.setup) == (None, ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[setup]\ncommands = "flask db upgrade"\n',
            "posthog-verify.toml: [setup] 'commands' must be an array of commands, each a string "
            '("flask db upgrade") or an array of strings (["flask", "db", "upgrade"]), '
            "got a string",
            id="not-an-array",
        ),
        pytest.param(
            '[setup]\ncommands = [["flask", 1]]\n',
            "posthog-verify.toml: [setup] 'commands' must be an array of commands, each a string "
            '("flask db upgrade") or an array of strings (["flask", "db", "upgrade"]), '
            "got ['flask', 1]",
            id="not-strings",
        ),
        pytest.param(
            '[setup]\ncommands = [""]\n',
            "posthog-verify.toml: [setup] an empty command: ''",
            id="empty",
        ),
        pytest.param(
            '[setup]\ncommands = ["flask \'db"]\n',
            'posthog-verify.toml: [setup] cannot split "flask \'db": No closing quotation',
            id="unbalanced-quote",
        ),
        pytest.param(
            "[setup]\ncomands = []\n",
            "posthog-verify.toml: [setup] key 'comands' is not allowed; allowed: commands. "
            "Did you mean 'commands'?",
            id="misspelled",
        ),
    ],
)
def test_setup_errors(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    assert str(info.value) == message


def test_baseline_names_the_app_before_the_integration(tmp_path: Path) -> None:
    _write(tmp_path, 'baseline = "../before"\n')
    manifest = load_manifest(tmp_path)
    assert manifest is not None
    assert manifest.baseline == "../before"
    _write(tmp_path, "baseline = 3\n")
    with pytest.raises(ManifestError, match="must be the path of the app before the integration"):
        load_manifest(tmp_path)
