"""The option group: help, types, precedence, and doing nothing when off."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import CHECK_IDS


def test_help_documents_the_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        [
            "*verify a Flask app's PostHog integration*",
            "*--posthog-verify*",
            "*--posthog-app=PATH*",
            "*--posthog-report=PATH*",
            "*--posthog-report-md=PATH*",
            "*--posthog-timeout=SECONDS*",
            "*--posthog-shard=K/N*",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--posthog-timeout", "soon"],
            "*--posthog-timeout: expected a positive number of seconds, got 'soon'*",
            id="timeout",
        ),
        pytest.param(
            ["--posthog-shard", "3/2"],
            "*--posthog-shard: expected K/N with 1 <= K <= N (e.g. 2/4), got '3/2'*",
            id="shard",
        ),
        pytest.param(
            ["--posthog-server", "uwsgi"],
            "*--posthog-server: expected one of werkzeug, gunicorn, auto, got 'uwsgi'*",
            id="server",
        ),
        pytest.param(
            ["--posthog-setup-timeout", "0"],
            "*--posthog-setup-timeout: expected a positive number of seconds, got '0'*",
            id="setup-timeout",
        ),
        pytest.param(
            ["--posthog-env-file", "absent.env"],
            "*--posthog-env-file absent.env: no such file (a relative path is relative to "
            "where pytest runs)*",
            id="env-file-missing",
        ),
    ],
)
def test_bad_values_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_bad_launcher_variable_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_LAUNCHER", "vfork")
    pytester.mkdir("app")
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app=app")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*POSTHOG_VERIFY_LAUNCHER='vfork': expected one of spawn, fork*"])


def test_a_glob_matching_nothing_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-app", "nowhere/*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--posthog-app: 'nowhere/*' matches no folder*"])


def test_off_by_default_the_suite_runs_as_usual(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_off_by_default_the_plugin_imports_none_of_the_verification(
    pytester: pytest.Pytester,
) -> None:
    """Installed, the plugin loads in every pytest run of the environment: without
    --posthog-verify it reads its options and nothing else (the rest costs
    about 0.6 CPU-s a run)."""
    pytester.makeconftest(
        "import sys\n"
        "def pytest_sessionfinish(session):\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith(('harness', 'responses',"
        " 'jinja2', 'requests')))\n"
        "    print('LOADED', ' '.join(loaded))\n"
    )
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    loaded = result.stdout.str().split("LOADED ", 1)[1].splitlines()[0].split()
    assert set(loaded) == {
        "harness",
        "harness.fixtures",
        "harness.limits",
        "harness.plugin",
        "harness.settings",
    }


def test_header_names_each_setting_source(
    pytester: pytest.Pytester, reference_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_TIMEOUT", "7")
    pytester.makeini("[pytest]\nposthog_server = werkzeug\n")
    # The "=" form: pytest picks its rootdir (and ini) before plugins load, and
    # would count a separate PATH argument among the paths that decide it.
    result = pytester.runpytest_subprocess(
        "--posthog-verify", f"--posthog-app={reference_app}", "--collect-only"
    )
    result.stdout.fnmatch_lines(
        [
            "*posthog-verify *: 1 app(s): *reference (from option)",
            "*server werkzeug (from ini), timeout 7s (from env POSTHOG_VERIFY_TIMEOUT)",
        ]
    )


def test_a_bad_env_file_line_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("corpus.env").write_text("SECRET_KEY=x\nnot a setting\n")
    result = pytester.runpytest_subprocess("--posthog-verify", "--posthog-env-file", "corpus.env")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--posthog-env-file corpus.env:2: expected NAME=value, got 'not a setting'*"]
    )


def test_the_env_file_reaches_every_app(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The src/ app without its manifest [env]: the env file gives its setting."""
    import shutil

    from target_apps.materialize import app_dir

    app = pytester.path / "ledger"
    shutil.copytree(app_dir("src_layout_env"), app)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("# posthog-verify")[0])
    pytester.path.joinpath("corpus.env").write_text("LEDGER_DATABASE={workspace}/l.db\n")
    monkeypatch.setenv("POSTHOG_VERIFY_ENV_FILE", "corpus.env")
    result = pytester.runpytest_subprocess(
        "--posthog-verify", f"--posthog-app={app}", "-k", "boots and not without", "-p", "no:xdist"
    )
    result.assert_outcomes(passed=1, deselected=len(CHECK_IDS) - 1)


def test_header_names_the_env_file_and_set_up_timeout(
    pytester: pytest.Pytester, reference_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.path.joinpath("corpus.env").write_text("SECRET_KEY=x\n")
    monkeypatch.setenv("POSTHOG_VERIFY_SETUP_TIMEOUT", "30")
    result = pytester.runpytest_subprocess(
        "--posthog-verify",
        f"--posthog-app={reference_app}",
        "--posthog-env-file=corpus.env",
        "--collect-only",
    )
    result.stdout.fnmatch_lines(
        [
            "posthog-verify: env file corpus.env (from option)",
            "posthog-verify: set-up timeout 30s (from env POSTHOG_VERIFY_SETUP_TIMEOUT)",
        ]
    )
