"""--posthog-server auto on apps served by gunicorn with several workers.

The reference app with a ``Procfile``: preloaded (its client is built in the
arbiter, before the fork) or not (each worker builds its own). On posthog
6.0.0 a forked client never sends (posthog-python#290): ``flush_on_shutdown``
fails saying so. posthog 7.91 restarts its consumer in a forked worker, so the
same app passes there: a version-specific verdict, proven both ways. The
corpus's ``correct_post_fork_client`` builds its client in its
``gunicorn.conf.py``'s ``post_fork`` hook, which the server honours: it
passes on posthog 6.0.0 preloaded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from envs_fixtures import ALT_REQUIREMENTS
from envs_fixtures import build

from harness.checks import run_checks
from harness.checks.ids import GUIDANCE_IDS
from harness.subject.process import Timeouts
from harness.verdict import Result
from harness.verdict import Status
from harness.verify import Options
from harness.verify import verify_app
from target_apps.materialize import materialize

ROOT = Path(__file__).resolve().parents[2]
# Two workers booting on a busy machine; a preloaded worker's stop hangs (5 s).
TIMEOUTS = Timeouts(boot_s=30.0, request_s=10.0, stop_s=5.0)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(tmp_path_factory.mktemp("gunicorn"), (*ALT_REQUIREMENTS, "gunicorn==23.0.0"))


def _app(tmp_path: Path, procfile: str) -> Path:
    app = tmp_path / "app"
    shutil.copytree(ROOT / "target_apps" / "reference", app)
    (app / "Procfile").write_text(procfile)
    return app


def _verify(app: Path, python: str | None) -> tuple[dict[str, Result], str]:
    run = verify_app(
        app, name="app", options=Options(server="auto", python=python, timeouts=TIMEOUTS)
    )
    return {r.check_id: r for r in run_checks(run)}, run.serving


def test_preloaded_client_loses_every_workers_events_on_posthog_6(
    tmp_path: Path, gunicorn_python: str
) -> None:
    app = _app(tmp_path, 'web: gunicorn -w 2 --preload "app:create_app()"\n')
    verdicts, serving = _verify(app, gunicorn_python)
    assert serving == (
        "gunicorn, 2 worker(s), sync, --preload (from Procfile line 1: gunicorn -w 2 --preload "
        '"app:create_app()")'
    )
    flush = verdicts["flush_on_shutdown"]
    assert flush.status is Status.FAIL, flush
    assert flush.summary.startswith("client #0 was built at app/__init__.py:38 in pid ")
    assert "before gunicorn forked its workers" in flush.summary
    (item,) = flush.evidence
    assert len(item["workers"]) >= 1
    assert item["lost"] > 0


def test_a_client_per_worker_delivers_on_posthog_6(tmp_path: Path, gunicorn_python: str) -> None:
    app = _app(tmp_path, 'web: gunicorn -w 2 "app:create_app()"\n')
    verdicts, serving = _verify(app, gunicorn_python)
    assert serving.startswith("gunicorn, 2 worker(s), sync (from Procfile line 1")
    assert verdicts["flush_on_shutdown"].status is Status.PASS, verdicts["flush_on_shutdown"]
    assert verdicts["single_client"].summary.startswith("one client in each of 2 worker")


def test_posthog_7_restarts_its_consumer_after_the_fork(tmp_path: Path) -> None:
    app = _app(tmp_path, 'web: gunicorn -w 2 --preload "app:create_app()"\n')
    verdicts, _ = _verify(app, None)
    assert verdicts["flush_on_shutdown"].status is Status.PASS, verdicts["flush_on_shutdown"]
    assert verdicts["no_silent_drops"].status is Status.PASS


def test_a_client_built_in_post_fork_delivers_preloaded_on_posthog_6(
    tmp_path: Path, gunicorn_python: str
) -> None:
    """The fix for posthog-python#290: each worker builds its client after the
    fork, in the config file's hook; the preload stays."""
    app = materialize("correct_post_fork_client", tmp_path)
    verdicts, serving = _verify(app, gunicorn_python)
    assert serving == (
        "gunicorn, 2 worker(s), sync, --preload, hooks post_fork from gunicorn.conf.py (from "
        'Procfile line 1: gunicorn -c gunicorn.conf.py "app:create_app()")'
    )
    unpassed = {
        c: verdicts[c].status for c in GUIDANCE_IDS if verdicts[c].status is not Status.PASS
    }
    assert unpassed == {}
    assert verdicts["single_client"].summary.startswith("one client in each of 2 worker")


def test_a_config_file_that_raises_is_the_apps_boot_failure(tmp_path: Path) -> None:
    app = _app(tmp_path, 'web: gunicorn "app:create_app()"\n')
    (app / "gunicorn.conf.py").write_text(
        "raise RuntimeError('WEB_CONCURRENCY is not a number')\n\n\n"
        "def post_fork(server, worker):\n    pass\n"
    )
    verdicts, _ = _verify(app, None)
    boots = verdicts["boots"]
    assert boots.status is Status.FAIL, boots
    assert "RuntimeError: WEB_CONCURRENCY is not a number" in boots.summary
    assert boots.evidence[0]["note"] == (
        "gunicorn.conf.py raised: RuntimeError: WEB_CONCURRENCY is not a number"
    )
    assert {verdicts[c].status for c in GUIDANCE_IDS if c != "boots"} == {Status.ERROR}
