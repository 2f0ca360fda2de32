"""pytest glue for posthog-verify: options, collection, hooks, fixtures.

Nothing happens unless ``--posthog-verify`` is given; then the normal test
suite is not collected and each app becomes a collector of check items::

    pytest --posthog-verify --posthog-app='apps/*' --posthog-report=out.json -n auto
    pytest --posthog-verify --posthog-app='apps/*' 'shop::no_pii_in_events'

The work is done elsewhere: :mod:`harness.session` (verifying apps),
:mod:`harness.items` (the nodes), :mod:`harness.selection` (node ids given as
arguments), :mod:`harness.condense` (one error block per cause),
:mod:`harness.report` (what people read: terminal, JSON, Markdown, HTML).
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

if t.TYPE_CHECKING:
    # The verification machinery is imported only when --posthog-verify is
    # given (pytest_configure): a plain test run pays nothing for it.
    from harness.session import VerifySession

session_key = pytest.StashKey["VerifySession"]()
settings_key = pytest.StashKey[settings_mod.Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
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
    parser.addini("posthog_apps", "app folders (globs) to verify", type="args")
    for option in settings_mod.OPTIONS:
        if option.switch:
            group.addoption(
                option.flag, action="store_const", const=True, dest=option.dest, help=option.help
            )
        else:
            group.addoption(
                option.flag,
                dest=option.dest,
                type=option.parse_argument,
                metavar=option.metavar,
                help=option.help,
            )
        parser.addini(option.dest, option.ini_help)


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
        _refuse_verify_options_without_verify(config)
        return
    settings = settings_mod.resolve(config)
    config.stash[settings_key] = settings
    if hasattr(config, "workerinput") or getattr(config.option, "dist", "no") == "no":
        # This process boots apps (an xdist controller does not): the zygote
        # imports flask and posthog while this process imports the harness.
        from harness.subject.zygote import warm_up

        try:
            warm_up(settings.server.value)
        except ValueError as exc:  # a bad POSTHOG_VERIFY_LAUNCHER
            raise pytest.UsageError(str(exc)) from None
    from harness.selection import Selection
    from harness.session import VerifySession
    from harness.session import select
    from harness.subject.process import Timeouts
    from harness.verify import Options

    timeouts = Timeouts(
        boot_s=settings.timeout.value,
        request_s=settings.timeout.value,
        stop_s=settings.timeout.value,
    )
    options = Options(
        server=settings.server.value,
        timeouts=timeouts,
        mock_budget_bytes=settings.mock_limit.value,
        workspace_limit_bytes=settings.workspace_limit.value,
        app_env=_env_file(settings.env_file.value),
        setup_timeout_s=settings.setup_timeout.value,
        baseline=settings.baseline.value,
        python=settings.python.value,
        install=settings.install.value,
    )
    entries = select(settings.apps.value, settings.shard.value, _workers(config))
    base = Path(config.invocation_params.dir)
    selection = Selection.of(_explicit_args(config), entries, base=base)
    verify = VerifySession(
        entries, options, concurrency=settings.concurrency.value, base=base, selection=selection
    )
    config.stash[session_key] = verify
    config.pluginmanager.register(_Interrupter(verify), "posthog-verify-interrupter")
    config.pluginmanager.register(_Gatherer(verify), "posthog-verify-gatherer")
    from harness.condense import ErrorCondenser

    config.pluginmanager.register(ErrorCondenser(), "posthog-verify-condenser")
    # In verify mode the apps are the tests: collection starts at the rootdir,
    # whose collector yields the apps, and the project's own suite is not run.
    # Node ids given as arguments were kept in the selection above.
    config.args = [str(config.rootpath)]
    # An app's items must stay on one worker; xdist's default "load" would split them.
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"


def _env_file(path: Path | None) -> dict[str, str]:
    """The env file's settings; a bad file is a usage error naming the line."""
    from harness.subject.envfile import EnvFileError
    from harness.subject.envfile import load_env_file

    if path is None:
        return {}
    try:
        return load_env_file(path)
    except EnvFileError as exc:
        raise pytest.UsageError(str(exc)) from None


def _refuse_verify_options_without_verify(config: pytest.Config) -> None:
    """An option of the verification without ``--posthog-verify`` would
    silently run the folder's whole test suite instead: refuse it."""
    verify_only = {"posthog_apps": "--posthog-app"} | {
        option.dest: option.flag for option in settings_mod.OPTIONS if option.verify_only
    }
    given = [flag for dest, flag in verify_only.items() if config.getoption(dest)]
    if given:
        raise pytest.UsageError(
            f"{', '.join(given)} needs --posthog-verify: add it to verify the app "
            f"(e.g. pytest --posthog-verify {given[0]}=PATH); without it pytest runs "
            "the test suite and ignores the option."
        )


def _explicit_args(config: pytest.Config) -> list[str]:
    """The positional arguments the user typed (not testpaths, not the cwd)."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return []
    return [str(arg) for arg in config.args]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = config.stash.get(settings_key, None)
    if settings is None:
        return None
    from harness.session import shown_path

    apps = settings.apps.value
    python = settings.python.value or "pytest's own"
    base = Path(config.invocation_params.dir)
    shown = ", ".join(shown_path(a, base) for a in apps[:3]) + (
        f" (+{len(apps) - 3} more)" if len(apps) > 3 else ""
    )
    lines = [
        f"posthog-verify {__version__}: {len(apps)} app(s): {shown} (from {settings.apps.source})",
        f"posthog-verify: server {settings.server.value} (from {settings.server.source}), "
        f"timeout {settings.timeout.value:g}s (from {settings.timeout.source})",
        f"posthog-verify: python {python} (from {settings.python.source}), "
        f"install {settings.install.value} (from {settings.install.source})",
        _isolation_header(),
    ]
    if settings.env_file.value is not None:
        env_file = shown_path(Path(settings.env_file.value), base)
        lines.append(f"posthog-verify: env file {env_file} (from {settings.env_file.source})")
    if settings.setup_timeout.source != "default":
        lines.append(
            f"posthog-verify: set-up timeout {settings.setup_timeout.value:g}s "
            f"(from {settings.setup_timeout.source})"
        )
    if config.rootpath in apps and config.rootpath != base:
        lines.append(
            "posthog-verify: the rootdir is the app's folder, so pytest reads its ini file: "
            "write --posthog-app=PATH (with '=') to keep the rootdir where you run from"
        )
    return lines


def _isolation_header() -> str:
    from harness.subject.sandbox import isolation

    try:
        return f"posthog-verify: isolation {isolation()}"
    except ValueError as exc:  # a bad POSTHOG_VERIFY_ISOLATION: verify_app raises it too
        return f"posthog-verify: isolation unknown: {exc}"


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    verify = parent.config.stash.get(session_key, None)
    if verify is None or path != parent.config.rootpath:
        return None
    from harness.items import VerifyDirectory

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
    from harness.envs import install_summary

    installs = install_summary(app.facts.get("environment") for app in apps)
    if installs is not None:
        terminalreporter.write_line(installs)


class _Interrupter:
    """Ctrl-C or SIGTERM (see :mod:`harness.subject.interrupt`) ends every app
    at once, so the run stops within seconds with its workspaces removed."""

    def __init__(self, verify: VerifySession) -> None:
        from harness.subject import interrupt

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
    wanted = (settings.report.value, settings.report_md.value, settings.report_html.value)
    if hasattr(config, "workerinput") or not any(wanted):
        return
    from harness.report import build_report
    from harness.report import html_report
    from harness.report import markdown_summary
    from harness.report import write_report
    from harness.report import write_text

    report = build_report(
        verify.app_reports(),
        versions=_versions(),
        shard=settings.shard.value,
        settings=settings_mod.settings_dict(settings, base=verify.base),
    )
    if settings.report.value:
        write_report(report, settings.report.value)
    if settings.report_md.value:
        write_text(settings.report_md.value, markdown_summary(report))
    if settings.report_html.value:
        write_text(settings.report_html.value, html_report(report))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "harness": __version__,
        "posthog": version("posthog"),
        "python": sys.version.split()[0],
    }
