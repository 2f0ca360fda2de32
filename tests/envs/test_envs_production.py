"""--posthog-server auto reads how the repository serves the app, and says from where."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.subject.production import ServePlan
from harness.subject.production import read_serving
from harness.subject.production import server_args


def _app(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"Procfile": "release: flask db upgrade\nweb: gunicorn -w 3 --preload app:app\n"},
            ServePlan(
                "gunicorn", 3, "sync", 1, True, "Procfile line 2: gunicorn -w 3 --preload app:app"
            ),
            id="procfile",
        ),
        pytest.param(
            {
                "boot.sh": "#!/bin/sh\n# gunicorn comment\nexec gunicorn --workers=2 -k gthread "
                "--threads 4 wsgi:app\n"
            },
            ServePlan(
                "gunicorn",
                2,
                "gthread",
                4,
                False,
                "boot.sh line 3: gunicorn --workers=2 -k gthread --threads 4 wsgi:app",
            ),
            id="boot-sh",
        ),
        pytest.param(
            {"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-w", "2", "app:create_app()"]\n'},
            ServePlan(
                "gunicorn",
                2,
                "sync",
                1,
                False,
                'Dockerfile line 2 (CMD): ["gunicorn", "-w", "2", "app:create_app()"]',
            ),
            id="dockerfile-exec-form",
        ),
        pytest.param(
            {
                "Procfile": "web: gunicorn -c gunicorn.conf.py app:app\n",
                "gunicorn.conf.py": "workers = 2\npreload_app = True\nbind = '0.0.0.0:8000'\n",
            },
            ServePlan(
                "gunicorn",
                2,
                "sync",
                1,
                True,
                "Procfile line 1: gunicorn -c gunicorn.conf.py app:app",
            ),
            id="procfile-with-config",
        ),
        pytest.param(
            {"gunicorn.conf.py": "import os\nworkers = 3\nworker_class = 'gthread'\n"},
            ServePlan("gunicorn", 3, "gthread", 1, False, "gunicorn.conf.py"),
            id="config-alone",
        ),
        pytest.param(
            {"Procfile": "web: python app.py\n", "Dockerfile": 'CMD ["flask", "run"]\n'},
            ServePlan(),
            id="nothing-says-gunicorn",
        ),
    ],
)
def test_read_serving(tmp_path: Path, files: dict[str, str], expected: ServePlan) -> None:
    assert read_serving(_app(tmp_path, files)) == expected


def test_what_cannot_be_used_as_is_is_noted(tmp_path: Path) -> None:
    app = _app(
        tmp_path,
        {
            "Procfile": "web: gunicorn -w ${WEB_CONCURRENCY:-9} -k gevent app:app\n",
            "gunicorn.conf.py": "import os\nthreads = int(os.environ['T'])\n",
        },
    )
    plan = read_serving(app)
    assert (plan.workers, plan.worker_class, plan.threads) == (4, "gthread", 1)
    assert plan.notes == (
        "-w ${WEB_CONCURRENCY:-9}: its default '9' used",
        "gunicorn.conf.py: threads is computed, not a literal: the default kept",
        "9 workers served as 4",
        "worker class 'gevent' served as gthread",
    )


def test_describe_says_what_was_read_and_from_where(tmp_path: Path) -> None:
    plan = read_serving(_app(tmp_path, {"Procfile": "web: gunicorn -w 2 --preload app:app\n"}))
    assert plan.describe() == (
        "gunicorn, 2 worker(s), sync, --preload (from Procfile line 1: gunicorn -w 2 --preload "
        "app:app)"
    )
    assert read_serving(tmp_path / "nothing").describe().startswith("werkzeug (nothing")


_HOOKED = """import os
workers = 2
preload_app = True


def post_fork(server, worker):
    build_client(worker)


def build_client(worker):  # not a hook: only gunicorn's names count
    ...


def on_exit(server):
    ...
"""


def test_the_config_files_hooks_are_served_with_it(tmp_path: Path) -> None:
    plan = read_serving(_app(tmp_path, {"gunicorn.conf.py": _HOOKED}))
    assert (plan.hooks, plan.config, plan.preload) == (
        ("post_fork", "on_exit"),
        "gunicorn.conf.py",
        True,
    )
    assert server_args(plan)[-2:] == ("--config", "gunicorn.conf.py")
    assert plan.describe() == (
        "gunicorn, 2 worker(s), sync, --preload, hooks post_fork, on_exit from gunicorn.conf.py "
        "(from gunicorn.conf.py)"
    )


def test_a_config_without_hooks_is_not_run(tmp_path: Path) -> None:
    plan = read_serving(_app(tmp_path, {"gunicorn.conf.py": "workers = 2\n"}))
    assert (plan.hooks, plan.config) == ((), "")
    assert "--config" not in server_args(plan)
