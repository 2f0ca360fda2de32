"""--posthog-install: one environment per requirements set, built once, reused."""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.envs import InstallError
from harness.envs import Requirements
from harness.envs import choose
from harness.envs import ensure_env
from harness.envs import env_key
from harness.envs import environment_of
from harness.envs import install_summary
from harness.envs import requirements_of
from harness.verify import Options
from harness.verify import verify_app

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "target_apps" / "reference"
# Already in uv's own cache once the session's alt environment exists.
PINNED = ("flask==2.3.3", "werkzeug==2.3.8", "posthog==6.0.0")


def _app(tmp_path: Path, requirements: str, name: str = "app") -> Path:
    app = tmp_path / name
    app.mkdir()
    (app / "requirements.txt").write_text(requirements)
    return app


def test_requirements_from_requirements_txt_then_pyproject(tmp_path: Path) -> None:
    app = _app(tmp_path, "flask>=3  # web\n\n# a comment\nposthog>=7\n")
    found = requirements_of(app)
    assert found is not None
    assert (found.source, found.lines) == ("requirements.txt", ("flask>=3", "posthog>=7"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname="x"\ndependencies=["posthog>=6"]\n')
    found = requirements_of(other)
    assert found is not None
    assert (found.source, found.lines) == ("pyproject.toml [project] dependencies", ("posthog>=6",))
    assert requirements_of(tmp_path) is None


def test_the_key_ignores_comments_and_follows_content_and_python(tmp_path: Path) -> None:
    a = requirements_of(_app(tmp_path, "flask>=3\nposthog>=7\n", "a"))
    b = requirements_of(_app(tmp_path, "# same\nflask>=3   # web\nposthog>=7\n", "b"))
    c = requirements_of(_app(tmp_path, "flask>=3\nposthog>=6\n", "c"))
    assert a is not None
    assert b is not None
    assert c is not None
    assert env_key(a, sys.executable) == env_key(b, sys.executable)
    assert env_key(a, sys.executable) != env_key(c, sys.executable)
    assert env_key(a, sys.executable) != env_key(a.with_extra("gunicorn"), sys.executable)


@pytest.mark.slow
def test_a_cached_environment_is_reused(tmp_path: Path, alt_python: str) -> None:
    cache = tmp_path / "cache"
    requirements = Requirements(tmp_path, "test", PINNED)
    cold = ensure_env(requirements, sys.executable, cache)
    warm = ensure_env(requirements, sys.executable, cache)
    assert (cold.cache_hit, warm.cache_hit) == (False, True)
    assert warm.python == cold.python
    assert warm.duration_s < cold.duration_s
    assert list((cache / "envs").glob("*/posthog-verify-env.json")) == [
        cache / "envs" / cold.key / "posthog-verify-env.json"
    ]


@pytest.mark.slow
def test_concurrent_asks_for_one_set_cost_one_install(tmp_path: Path, alt_python: str) -> None:
    cache = tmp_path / "cache"
    requirements = Requirements(tmp_path, "test", PINNED)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        envs = list(pool.map(lambda _: ensure_env(requirements, sys.executable, cache), range(4)))
    assert sorted(e.cache_hit for e in envs) == [False, True, True, True]
    assert len({e.python for e in envs}) == 1


@pytest.mark.slow
def test_an_install_failure_quotes_the_resolver(tmp_path: Path) -> None:
    requirements = Requirements(tmp_path, "test", ("posthog==0.0.0.99999",))
    with pytest.raises(InstallError) as info:
        ensure_env(requirements, sys.executable, tmp_path / "cache")
    assert str(info.value).startswith("the installer exited with code ")
    assert "posthog==0.0.0.99999" in str(info.value)
    assert not (tmp_path / "cache" / "envs" / env_key(requirements, sys.executable)).exists()


@pytest.mark.slow
def test_verify_runs_each_app_in_its_own_environment(
    tmp_path: Path, alt_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_VERIFY_CACHE", str(tmp_path / "cache"))
    app = tmp_path / "app"
    shutil.copytree(REFERENCE, app)
    (app / "requirements.txt").write_text("\n".join(PINNED) + "\n")
    first = verify_app(app, name="app", options=Options(install=True))
    again = verify_app(app, name="app", options=Options(install=True))
    assert first.boot_failure is None, first.boot_failure
    assert first.versions["posthog"] == "6.0.0"
    assert first.versions["flask"] == "2.3.3"
    built, reused = environment_of(first), environment_of(again)
    assert built is not None
    assert reused is not None
    assert (built["install"]["cache_hit"], reused["install"]["cache_hit"]) == (False, True)
    assert "--posthog-install: requirements.txt (environment built: " in built["install"]["reason"]


def test_an_install_failure_is_an_error_quoting_the_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise InstallError("the installer exited with code 1: error: No solution found", "log")

    monkeypatch.setattr("harness.envs.ensure_env", refuse)
    run = verify_app(REFERENCE, name="reference", options=Options(install=True))
    assert run.boot_failure is not None
    assert not run.boot_failure.app_raised
    assert "No solution found" in run.boot_failure.cause
    assert run.boot_failure.detail == "log"


def test_without_requirements_the_base_interpreter_is_kept(tmp_path: Path) -> None:
    choice = choose(
        tmp_path, option_python=None, manifest_python=None, install=True, server="werkzeug"
    )
    assert (choice.python, choice.setup) == (None, ())
    assert "declares no requirements" in choice.reason


def test_the_terminal_line_counts_builds_and_reuses() -> None:
    built = {"install": {"cache_hit": False, "duration_s": 2.5}}
    reused = {"install": {"cache_hit": True, "duration_s": 0.0}}
    line = install_summary([built, reused, reused, None, {"versions": {}}])
    assert line is not None
    assert line.startswith("--posthog-install: 1 environment(s) built (2.5 s), 2 reused")
    assert install_summary([None, {"versions": {}}]) is None


@pytest.mark.slow
def test_installing_the_plugin_beside_an_app_keeps_its_flask_and_sdk(alt_python: str) -> None:
    """The issue's report: installing the plugin upgraded an app's posthog 6 to 7."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    proc = subprocess.run(
        [uv, "pip", "install", "--dry-run", "--python", alt_python, "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    changes = [line for line in proc.stderr.splitlines() if line.startswith((" + ", " - "))]
    assert any("pytest-posthog-verify" in line for line in changes), proc.stderr
    names = {c[3:].split("==")[0].split(" ")[0] for c in changes}
    touched = names & {"flask", "posthog", "werkzeug"}
    assert touched == set(), changes
