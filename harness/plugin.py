"""pytest glue for posthog-verify: options, collection, hooks, fixtures.

Nothing happens unless ``--posthog-verify`` is given; then the normal test
suite is not collected and each app becomes a collector of check items::

    pytest --posthog-verify --posthog-app 'apps/*' --posthog-report out.json -n auto

The work is done elsewhere: :mod:`harness.session` (verifying apps),
:mod:`harness.items` (the nodes), :mod:`harness.report` (what people read).
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

from harness import __version__
from harness import settings as settings_mod
from harness.fixtures import posthog_events as posthog_events
from harness.fixtures import posthog_mock as posthog_mock
from harness.items import VerifyDirectory

if t.TYPE_CHECKING:
    # The verification machinery is imported only when --posthog-verify is
    # given (pytest_configure): a plain test run pays nothing for it.
    from harness.session import VerifySession

session_key = pytest.StashKey["VerifySession"]()
settings_key = pytest.StashKey[settings_mod.Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Help text: what the option does, then its default; ini names mirror the flags.
    group = parser.getgroup("posthog-verify", "verify a Flask app's PostHog integration")
    group.addoption(
        "--posthog-verify",
        action="store_true",
        dest="posthog_verify",
        default=False,
        help="verify the apps' PostHog integration instead of running the test suite.",
    )
    group.addoption(
        "--posthog-app",
        action="append",
        dest="posthog_apps",
        metavar="PATH",
        help="an app folder to verify; repeatable; globs allowed. Default: the rootdir.",
    )
    group.addoption(
        "--posthog-report",
        dest="posthog_report",
        metavar="PATH",
        type=Path,
        help="write the JSON report (schema in harness/report/schema.json) to PATH.",
    )
    group.addoption(
        "--posthog-report-md",
        dest="posthog_report_md",
        metavar="PATH",
        type=Path,
        help="write a Markdown summary fit for a pull-request comment to PATH.",
    )
    group.addoption(
        "--posthog-server",
        dest="posthog_server",
        type=settings_mod.parse_server,
        metavar="NAME",
        help="the WSGI server the app runs under: werkzeug (default) or gunicorn.",
    )
    group.addoption(
        "--posthog-timeout",
        dest="posthog_timeout",
        type=settings_mod.parse_timeout,
        metavar="SECONDS",
        help="deadline for each phase of an app (boot, each request, stop). Default: 10.",
    )
    group.addoption(
        "--posthog-shard",
        dest="posthog_shard",
        type=settings_mod.parse_shard,
        metavar="K/N",
        help="verify only the K-th of N deterministic shares of the apps (CI matrices).",
    )
    group.addoption(
        "--posthog-concurrency",
        dest="posthog_concurrency",
        type=settings_mod.parse_concurrency,
        metavar="N",
        help="apps verified at once per process (they mostly wait). Default: 8.",
    )
    parser.addini("posthog_apps", "app folders (globs) to verify", type="args")
    parser.addini("posthog_report", "path of the JSON report")
    parser.addini("posthog_report_md", "path of the Markdown summary")
    parser.addini("posthog_server", "werkzeug or gunicorn")
    parser.addini("posthog_timeout", "deadline in seconds for each phase")
    parser.addini("posthog_shard", "K/N share of the apps")
    parser.addini("posthog_concurrency", "apps verified at once per process")


def _workers(config: pytest.Config) -> int:
    """How many xdist workers share the apps (1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput["workercount"])
    numprocesses = getattr(config.option, "numprocesses", None)
    return int(numprocesses) if isinstance(numprocesses, int) and numprocesses > 0 else 1


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("posthog_verify"):
        return
    from harness.session import VerifySession
    from harness.session import select
    from harness.target.process import Timeouts
    from harness.verify import Options

    settings = settings_mod.resolve(config)
    config.stash[settings_key] = settings
    timeouts = Timeouts(
        boot_s=settings.timeout.value,
        request_s=settings.timeout.value,
        stop_s=settings.timeout.value,
    )
    options = Options(server=settings.server.value, timeouts=timeouts)
    entries = select(settings.apps.value, settings.shard.value, _workers(config))
    verify = VerifySession(entries, options, concurrency=settings.concurrency.value)
    config.stash[session_key] = verify
    config.pluginmanager.register(_Interrupter(verify), "posthog-verify-interrupter")
    config.pluginmanager.register(_Gatherer(verify), "posthog-verify-gatherer")
    if hasattr(config, "workerinput") or getattr(config.option, "dist", "no") == "no":
        verify.warm_up()  # this process boots apps (an xdist controller does not)
    # In verify mode the apps are the tests: collection starts at the rootdir,
    # whose collector yields the apps, and the project's own suite is not run.
    config.args = [str(config.rootpath)]
    # An app's items must stay on one worker; xdist's default "load" would split them.
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = config.stash.get(settings_key, None)
    if settings is None:
        return None
    apps = settings.apps.value
    shown = ", ".join(str(a) for a in apps[:3]) + (
        f" (+{len(apps) - 3} more)" if len(apps) > 3 else ""
    )
    return [
        f"posthog-verify {__version__}: {len(apps)} app(s): {shown} (from {settings.apps.source})",
        f"posthog-verify: server {settings.server.value} (from {settings.server.source}), "
        f"timeout {settings.timeout.value:g}s (from {settings.timeout.source})",
        _isolation_header(),
    ]


def _isolation_header() -> str:
    from harness.target.sandbox import isolation

    try:
        return f"posthog-verify: isolation {isolation()}"
    except ValueError as exc:  # a bad POSTHOG_VERIFY_ISOLATION: verify_app raises it too
        return f"posthog-verify: isolation unknown: {exc}"


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    verify = parent.config.stash.get(session_key, None)
    if verify is None or path != parent.config.rootpath:
        return None
    return VerifyDirectory.from_parent(parent, path=path, verify=verify)


class _Gatherer:
    """Keeps each item's result as its report arrives (from a worker or locally)."""

    def __init__(self, verify: VerifySession) -> None:
        self.verify = verify

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.verify.gather(report.nodeid, report.user_properties)


def pytest_terminal_summary(terminalreporter: t.Any, config: pytest.Config) -> None:
    verify = config.stash.get(session_key, None)
    if verify is None or hasattr(config, "workerinput"):
        return  # only the controller reports: workers' results reach it via reports
    apps = verify.app_reports()
    if not apps:
        return
    from harness.report import summary_lines

    terminalreporter.write_sep("=", "posthog-verify")
    for line in summary_lines(apps, width=terminalreporter._tw.fullwidth):
        terminalreporter.write_line(line)


class _Interrupter:
    """Ctrl-C or SIGTERM (see :mod:`harness.target.interrupt`) ends every app
    at once, so the run stops within seconds with its workspaces removed."""

    def __init__(self, verify: VerifySession) -> None:
        from harness.target import interrupt

        self.verify = verify
        self._interrupt = interrupt

    def pytest_configure(self, config: pytest.Config) -> None:
        worker = hasattr(config, "workerinput")
        controller = not worker and getattr(config.option, "dist", "no") != "no"
        self._interrupt.arm(worker=worker, controller=controller)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.verify.interrupt()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._interrupt.disarm()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    verify = config.stash.get(session_key, None)
    if verify is None:
        return
    verify.close()
    settings = config.stash[settings_key]
    if hasattr(config, "workerinput") or not (settings.report.value or settings.report_md.value):
        return
    from harness.report import build_report
    from harness.report import markdown_summary
    from harness.report import write_report

    report = build_report(verify.app_reports(), versions=_versions(), shard=settings.shard.value)
    if settings.report.value:
        write_report(report, settings.report.value)
    if settings.report_md.value:
        settings.report_md.value.parent.mkdir(parents=True, exist_ok=True)
        settings.report_md.value.write_text(markdown_summary(report), encoding="utf-8")


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "harness": __version__,
        "posthog": version("posthog"),
        "python": sys.version.split()[0],
    }
