"""Boot, drive and stop one app; return the :class:`~harness.run.Run` the checks read.

This is the one place that knows the order of a verification. Each piece it
calls does one thing (find the app, read its source, copy it, serve it in a
child process, drive the scenario, stop it), and every piece that can hang has
its own deadline, so ``verify_app`` always returns::

    run = verify_app(Path("target_apps/reference"), name="reference", options=Options())
    results = run_checks(run)

An app that cannot be found, booted or driven still yields a Run, with
``boot_failure`` saying in which phase and why: the checks turn that into
``fail`` (the app's own code raised) or ``error`` (anything else).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import secrets
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from harness.capture import CaptureServer
from harness.capture import CaptureStore
from harness.capture import RequestKind
from harness.checks.ids import READ_EVENTS
from harness.environ import snapshot
from harness.envs import Choice
from harness.envs import InstallError
from harness.envs import choose
from harness.limits import DEFAULT_BUDGET_BYTES
from harness.limits import DEFAULT_LIMIT_BYTES
from harness.run import AppRef
from harness.run import BootFailure
from harness.run import NoEnvBoot
from harness.run import Phase
from harness.run import Run
from harness.run import SetupReport
from harness.run import SuiteOutcome
from harness.scenario import HttpTransport
from harness.scenario import drive
from harness.scenario import load_scenario
from harness.scenario import make_canaries
from harness.scenario import make_identity
from harness.scenario.canary import typed_values
from harness.scenario.crawl import fetcher
from harness.scenario.outcomes import exit_description
from harness.scenario.outcomes import with_failures
from harness.scenario.plan import plan_app
from harness.scenario.transport import TransportError
from harness.static import analyze
from harness.static.claims import read_setup_report
from harness.static.walk import shared_parses
from harness.subject import setup
from harness.subject.discovery import DiscoveryError
from harness.subject.discovery import discover
from harness.subject.interpreter import InterpreterError
from harness.subject.interpreter import resolve_python
from harness.subject.interpreter import seam_problem
from harness.subject.manifest import ManifestError
from harness.subject.manifest import load_manifest
from harness.subject.observations import identified_in
from harness.subject.process import AppProcess
from harness.subject.process import BootError
from harness.subject.process import Timeouts
from harness.subject.production import read_serving
from harness.subject.production import server_args
from harness.subject.sandbox import NAMESPACES
from harness.subject.sandbox import MockRoute
from harness.subject.sandbox import isolation
from harness.subject.setup import DEFAULT_TIMEOUT_S
from harness.subject.suite import run_suite
from harness.subject.workspace import WorkspaceTooLarge
from harness.subject.workspace import clone
from harness.subject.workspace import fresh_copy

if t.TYPE_CHECKING:
    from harness.run import ConnectionAttempt
    from harness.run import Exchange
    from harness.run import ProcessOutcome
    from harness.run import StaticFacts
    from harness.scenario import Identity
    from harness.scenario import Plan
    from harness.subject.discovery import AppLocation
    from harness.subject.manifest import Manifest
    from harness.subject.observations import Observations
    from harness.subject.setup import PlannedCommand

# Names an app's PostHog setup commonly reads; the ones its source names are added.
KEY_ENV_NAMES = (
    "POSTHOG_PROJECT_TOKEN",
    "POSTHOG_PROJECT_API_KEY",
    "POSTHOG_API_KEY",
    "POSTHOG_KEY",
    "POSTHOG_TOKEN",
)
HOST_ENV_NAMES = ("POSTHOG_HOST", "POSTHOG_API_HOST", "POSTHOG_URL")


@dataclasses.dataclass(frozen=True)
class Options:
    """How to verify: which server, which deadlines, which scenario.

    :param environ: the environment the apps get (less what steers them, see
        :func:`base_environ`), snapshotted when the Options are built: build
        them where nothing changes ``os.environ`` meanwhile (pytest_configure),
        and every app of the session reads the same one (:mod:`harness.environ`).
    """

    server: str = "werkzeug"
    timeouts: Timeouts = dataclasses.field(default_factory=Timeouts)
    scenario: str = "default"
    workdir: Path | None = None  # where workspaces go; a fresh temp dir by default
    environ: t.Mapping[str, str] = dataclasses.field(default_factory=snapshot)
    mock_budget_bytes: int = DEFAULT_BUDGET_BYTES  # what the mock keeps per app
    workspace_limit_bytes: int = DEFAULT_LIMIT_BYTES  # what a workspace copy may take
    #: ``--posthog-env-file``'s settings, given to every app (its manifest's ``[env]`` wins).
    app_env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: the deadline of each set-up command (``--posthog-setup-timeout``).
    setup_timeout_s: float = DEFAULT_TIMEOUT_S
    baseline: Path | None = None  # the same app before the integration (--posthog-baseline)
    #: The app's interpreter (``--posthog-python``); None: the manifest's, else pytest's.
    python: str | None = None
    #: ``--posthog-install``: run each app in the environment of its requirements.
    install: bool = False
    #: ``harness.serve`` arguments of the server (``--posthog-server auto``).
    server_args: tuple[str, ...] = ()
    #: Also run the app's own test suite (:mod:`harness.subject.suite`): only
    #: when there is a baseline to compare it with.
    own_suite: bool = False


def injected_env(
    static: StaticFacts, token: str, host: str, manifest: Manifest | None = None
) -> dict[str, str]:
    """The token and the mock's host under every name the app might read.

    A name the source passes to the SDK's ``host`` or key gets the mock's host
    or the token, whatever it is called; any other name from the source is a
    host when it says HOST or URL, and the token when it says KEY or TOKEN.
    Names such as ``POSTHOG_DISABLED`` are left alone: guessing a value for
    them could switch the integration off. Config keys read after
    ``config.from_prefixed_env(prefix)`` are also set as ``<prefix>_<KEY>``;
    the manifest's ``[env]`` names are set as it says.
    """
    hosts, keys = set(static.host_sources), set(static.key_sources)
    for prefix in static.env_prefixes:
        hosts |= {f"{prefix}_{name}" for name in static.host_sources}
        keys |= {f"{prefix}_{name}" for name in static.key_sources}
    names = set(KEY_ENV_NAMES) | set(HOST_ENV_NAMES) | set(static.env_names)
    names |= {f"{p}_{k}" for p in static.env_prefixes for k in (*names, *static.config_keys)}
    env: dict[str, str] = {}
    for name in names:
        upper = name.upper()
        if name in hosts:
            env[name] = host
        elif name in keys:
            env[name] = token
        elif "HOST" in upper or "URL" in upper:
            env[name] = host
        elif "KEY" in upper or "TOKEN" in upper:
            env[name] = token
    if manifest is not None:
        env |= dict.fromkeys(manifest.env_token, token) | dict.fromkeys(manifest.env_host, host)
    return env


# Variables that would steer how the app runs rather than configure it: which
# app (FLASK_APP), debug mode (Flask then re-raises instead of running the
# app's error handlers), the dev server's own settings. Other FLASK_* variables
# are app configuration (``from_prefixed_env``) and pass through.
_STEERING = ("FLASK_APP", "FLASK_DEBUG", "FLASK_ENV", "FLASK_RUN_", "FLASK_SKIP_DOTENV")


def base_environ(environ: t.Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without anything that would steer the app.

    Every ``POSTHOG*`` variable of the harness's own environment is dropped, so
    only what the harness injects reaches the app; so are pytest's own and the
    Flask variables that change how the app runs.

    :param environ: the session's snapshot (:attr:`Options.environ`), never
        ``os.environ`` itself: pytest changes that from another thread.
    """
    return {
        name: value
        for name, value in environ.items()
        if not name.upper().startswith(("POSTHOG", "PYTEST_", *_STEERING))
    }


@dataclasses.dataclass(frozen=True)
class Subject:
    """An app found and read (never run), ready to be booted in either mode."""

    app: AppRef
    location: AppLocation
    manifest: Manifest | None
    static: StaticFacts
    #: The set-up commands its source or manifest calls for, read once for
    #: both boots (:func:`harness.subject.setup.setup_commands`).
    planned_setup: tuple[PlannedCommand, ...] = ()
    #: The app's setup report (:mod:`harness.static.claims`), None when it has none.
    report: SetupReport | None = None


def find(
    app_root: Path, name: str, environ: t.Mapping[str, str] | None = None
) -> Subject | BootFailure:
    """Read the manifest, find the app, read its source; or say why not.

    A candidate file that does not parse is the app's own fault
    (``app_raised``); anything else found wanting is the harness's ``error``.
    ``environ`` is where ``FLASK_APP`` is read (None: a fresh snapshot).
    """
    app = AppRef(name=name, root=str(app_root))
    with shared_parses():  # the three readers below parse each file once
        try:
            manifest = load_manifest(app_root)
            environ = snapshot() if environ is None else environ
            location = discover(app_root, environ=environ, manifest=manifest)
        except (DiscoveryError, ManifestError) as exc:
            raised = isinstance(exc, DiscoveryError) and exc.app_raised
            # The first line is the cause; "Looked at:" introduces the lines after it.
            cause = str(exc).splitlines()[0].removesuffix(" Looked at:")
            return BootFailure(Phase.DISCOVER, cause, raised, str(exc))
        app = dataclasses.replace(app, target=location.target, found_by=location.found_by)
        planned = setup.setup_commands(app_root, manifest)
        static = analyze(app_root)
    return Subject(app, location, manifest, static, planned, read_setup_report(app_root))


def new_run(subject: Subject, *, mode: str, mock_host: str) -> tuple[Run, Identity, dict[str, str]]:
    """The Run's starting point: the values unique to this run, and the env to inject."""
    run_id = secrets.token_hex(6)
    identity = make_identity(run_id)
    # Synthetic and unique per run, so a batch carrying any other key is visible.
    token = f"phc_posthogverify_test_{run_id}"
    env = injected_env(subject.static, token, mock_host, subject.manifest)
    run = Run(
        app=subject.app,
        mode=mode,
        token=token,
        mock_host=mock_host,
        injected_env=tuple(sorted(env)),
        canaries=make_canaries(run_id, typed_values(subject.manifest)),
        distinct_id_header=identity.distinct_id,
        session_id_header=identity.session_id,
        static=subject.static,
        skip=dict(subject.manifest.skip) if subject.manifest else {},
        setup_report=subject.report,
        tracking_plan=subject.manifest.events if subject.manifest else (),
    )
    return run, identity, env


def verify_app(app_root: Path, *, name: str, options: Options | None = None) -> Run:
    """Verify one app end to end and return everything observed."""
    options = options or Options()
    started = time.monotonic()
    subject = find(app_root, name, options.environ)
    if isinstance(subject, BootFailure):
        app = AppRef(name=name, root=str(app_root))
        return Run(app=app, boot_failure=subject, duration_s=time.monotonic() - started)
    options, serving = _serving(subject, options)
    try:
        choice = app_python(subject, options)
    except (InterpreterError, InstallError) as exc:
        detail = exc.output if isinstance(exc, InstallError) else ""
        failure = BootFailure(Phase.BOOT, str(exc), detail=detail)
        return Run(app=subject.app, boot_failure=failure, duration_s=time.monotonic() - started)
    options = dataclasses.replace(options, python=choice.python)
    with tempfile.TemporaryDirectory(prefix="posthog-verify-", dir=options.workdir) as tmp:
        try:
            run = _boot_and_drive(subject, options, Path(tmp))
        except WorkspaceTooLarge as exc:  # the environment's to fix: error, not the app's fail
            run = Run(app=subject.app, boot_failure=BootFailure(Phase.DISCOVER, str(exc)))
        booted = run.boot_failure
        if options.own_suite and (booted is None or booted.phase is not Phase.DISCOVER):
            run = dataclasses.replace(run, suite=own_suite(subject, options, Path(tmp)))
    setup = choice.setup + run.setup
    return dataclasses.replace(
        run, setup=setup, serving=serving, duration_s=time.monotonic() - started
    )


def own_suite(subject: Subject, options: Options, tmp: Path) -> SuiteOutcome | None:
    """The app's own tests, in a fresh copy, without any PostHog variable (as
    its developers' CI runs them); None when it has none."""
    env = base_environ(options.environ) | app_settings(subject, options, tmp / "suite")
    env = {k: v for k, v in env.items() if not k.upper().startswith("POSTHOG")}
    return run_suite(
        Path(subject.app.root),
        tmp,
        python=options.python or sys.executable,
        env=env,
        timeout_s=options.setup_timeout_s,
        limit_bytes=options.workspace_limit_bytes,
    )


def _serving(subject: Subject, options: Options) -> tuple[Options, str]:
    """``--posthog-server auto``: the server the repository names, and what
    was read from where; any other server as given."""
    if options.server != "auto":
        return options, ""
    plan = read_serving(Path(subject.app.root))
    said = "; ".join((plan.describe(), *plan.notes))
    return dataclasses.replace(options, server=plan.server, server_args=server_args(plan)), said


def app_python(subject: Subject, options: Options) -> Choice:
    """The interpreter the app runs under (:func:`harness.envs.choose`); the
    manifest's ``python`` is relative to the app.

    :raises InterpreterError: the one named cannot run.
    :raises InstallError: ``--posthog-install`` could not install the app's requirements.
    """
    manifest, named = subject.manifest, None
    if options.python is None and manifest is not None and manifest.python is not None:
        source = f"{manifest.label} python"
        named = resolve_python(manifest.python, Path(subject.app.root), source)
    return choose(
        Path(subject.app.root),
        option_python=options.python,
        manifest_python=named,
        install=options.install,
        server=options.server,
    )


def _boot_and_drive(subject: Subject, options: Options, tmp: Path) -> Run:
    isolated = isolation()
    store = CaptureStore(budget_bytes=options.mock_budget_bytes)
    with (
        CaptureServer(store, unix_socket=isolated == NAMESPACES) as mock,
        concurrent.futures.ThreadPoolExecutor(1) as side,
    ):
        run, identity, env = new_run(subject, mode="server", mock_host=mock.url)
        workspace = fresh_copy(
            Path(subject.app.root), tmp / "main", limit_bytes=options.workspace_limit_bytes
        )
        assert run.canaries is not None
        probe = run.canaries.probe
        run = dataclasses.replace(run, workspace=str(workspace.resolve()), isolation=isolated)
        app_env = base_environ(options.environ) | app_settings(subject, options, workspace)
        app_env |= env | {"POSTHOG_VERIFY_MOCK_URL": mock.url}
        run, app_env = set_up(run, subject, options, workspace, app_env)
        set_up_done = run.boot_failure is None
        spare = no_env_copy(workspace, tmp)
        no_env = side.submit(
            _boot_without_env, subject, env, options, tmp, spare, isolated, set_up_done
        )
        if run.boot_failure is not None:  # the app's set-up failed: nothing to boot
            no_env_boot, no_env_connections = no_env.result()
            return dataclasses.replace(run, no_env_boot=no_env_boot, connections=no_env_connections)
        process = AppProcess(
            workspace,
            subject.location.target,
            app_env,
            tmp / "main.log",
            server=options.server,
            probe_token=probe,
            timeouts=options.timeouts,
            python=options.python,
            server_args=options.server_args,
            isolate=isolated == NAMESPACES,
            mock=_route(mock),
            contain=isolated != NAMESPACES,
        )
        with process:
            run = _drive_and_stop(run, process, mock, subject.manifest, options, identity)
        errors = tuple(str(e) for e in mock.store.handler_errors)
        no_env_boot, no_env_connections = no_env.result()
        return dataclasses.replace(
            run,
            requests=tuple(mock.store.requests()),
            events=tuple(mock.store.events()),
            harness_errors=run.harness_errors + errors + over_budget(mock.store),
            no_env_boot=no_env_boot,
            connections=process.records().connections + no_env_connections,
        )


def _route(mock: CaptureServer) -> MockRoute | None:
    """Where the mock URL leads from inside an app's network namespace."""
    return None if mock.unix_path is None else MockRoute(mock.port, mock.unix_path)


def over_budget(store: CaptureStore) -> tuple[str, ...]:
    """A fault scoped to each check that needed the events the mock did not keep."""
    overflow = store.overflow
    if overflow is None:
        return ()
    fix = (
        "raise it with --posthog-mock-limit SIZE (e.g. 256M), ini posthog_mock_limit "
        "or env POSTHOG_VERIFY_MOCK_LIMIT"
    )
    return tuple(f"{check}: {overflow}; {fix}" for check in READ_EVENTS)


def app_settings(subject: Subject, options: Options, workspace: Path) -> dict[str, str]:
    """The app's own settings (env file, then manifest ``[env]``) for this copy."""
    return setup.app_settings(subject.manifest, options.app_env, workspace)


def set_up(
    run: Run,
    subject: Subject,
    options: Options,
    workspace: Path,
    env: dict[str, str],
    *,
    run_commands: bool = True,
) -> tuple[Run, dict[str, str]]:
    """The app's set-up in ``workspace`` (:mod:`harness.subject.setup`): the Run
    records it (and a failure); the env gains the app's import root. The
    commands run under the app's own isolation, as its boots do.

    :param run_commands: False: only the env (the commands ran in the copy this
        workspace was cloned from)."""
    records, failure, env = setup.prepare(
        Path(subject.app.root),
        subject.manifest,
        subject.location,
        workspace,
        env,
        timeout_s=options.setup_timeout_s,
        runner=setup.sandboxed_runner(workspace.parent),
        python=options.python,
        commands=subject.planned_setup if run_commands else (),
    )
    return dataclasses.replace(run, setup=records, boot_failure=failure), env


def _drive_and_stop(
    run: Run,
    process: AppProcess,
    mock: CaptureServer,
    manifest: Manifest | None,
    options: Options,
    identity: Identity,
) -> Run:
    try:
        base_url = process.start()
    except BootError as exc:
        versions = process.records().versions
        return dataclasses.replace(
            run, boot_failure=exc.failure, process=exc.outcome, versions=versions
        )
    seam = seam_problem(process.records())
    if seam is not None:
        return dataclasses.replace(
            run, boot_failure=BootFailure(Phase.BOOT, seam), process=process.stop()
        )
    steps = _plan(base_url, process, manifest, options)
    assert run.canaries is not None

    def identified_as(index: int) -> str | None:
        return identified_in(process.records(), index, identity.distinct_id)

    transport = HttpTransport(base_url)
    try:
        result = drive(
            transport,
            steps,
            run.canaries,
            identity,
            identified_as=identified_as,
            timeout_s=options.timeouts.request_s,
        )
    finally:
        transport.close()
    # The flush check: the first batch after the stop signal is refused, so only
    # an app that waits for its client's shutdown() delivers everything.
    mock.faults.fail_next(1, 500, kind=RequestKind.CAPTURE)
    outcome = process.stop()
    observed = process.records()
    exchanges, crashed = with_failures(
        result.exchanges, observed, outcome, app_gone=result.error is not None
    )
    return dataclasses.replace(
        run,
        exchanges=exchanges,
        clients=observed.clients,
        atexit=observed.atexit,
        capture_calls=observed.capture_calls,
        enqueued=observed.enqueued,
        probe_entered=observed.probe_entered,
        propagated=observed.propagated,
        process=outcome,
        boot_failure=_failure_after_boot(result.error, outcome, crashed),
        stop_fault_armed=True,
        versions=observed.versions,
        steps_skipped=dict(steps.skipped) | dict(result.skipped),
        steps_incomplete=dict(result.incomplete),
        harness_errors=run.harness_errors + _unreachable(result.exchanges, observed),
    )


def _plan(base_url: str, process: AppProcess, manifest: Manifest | None, options: Options) -> Plan:
    """The scenario on the app's routes; a crawl from ``/`` (its own visitor)
    finds the signup and login forms no route name gives away."""
    crawler = HttpTransport(base_url)
    try:
        fetch = fetcher(crawler, options.timeouts.request_s)
        return plan_app(
            load_scenario(options.scenario), process.records().routes, manifest, fetch=fetch
        )
    finally:
        crawler.close()


def _unreachable(exchanges: tuple[Exchange, ...], observed: Observations) -> tuple[str, ...]:
    """Every request, the harness's own probe included, answered 404: the app
    serves its routes somewhere else (mounted under a prefix), so nothing it
    did or did not send can be judged."""
    answered = [x.status for x in exchanges if x.status is not None]
    if not answered or any(status != 404 for status in answered) or observed.probe_entered:
        return ()
    return (
        "the app answered 404 to every request, the harness's own probe route included "
        "(is it mounted under a prefix?): name its paths in posthog-verify.toml",
    )


def _failure_after_boot(
    drive_error: str | None, outcome: ProcessOutcome, crashed: Exchange | None = None
) -> BootFailure | None:
    """A drive cut short because the app died (naming the request it died
    serving, not the next one that found nothing listening), or a stop that
    needed SIGKILL."""
    if drive_error is not None:
        detail = outcome.stderr_tail
        how = exit_description(outcome)
        if crashed is not None:
            cause = (
                f"the app's process died while serving request {crashed.index} "
                f"({crashed.step}: {crashed.method} {crashed.path}), {how}"
            )
            return BootFailure(Phase.REQUEST, cause, detail=detail)
        return BootFailure(Phase.REQUEST, f"{drive_error} ({how})", detail=detail)
    if outcome.stop_signal and "KILL" in outcome.stop_signal:
        return BootFailure(Phase.STOP, f"the app did not stop: {outcome.stop_signal}")
    return None


def no_env_copy(main: Path, tmp: Path) -> Path:
    """The no-env boot's workspace: a clone of the main boot's copy, made once
    the app's set-up ran there and before either boot writes anything.

    The user's tree is read and size-checked once; the clone hard-links code,
    templates and assets and copies the rest (:func:`harness.subject.workspace.clone`),
    so neither boot sees the other's writes, and the database the set-up made
    comes along: the set-up commands (``flask db upgrade`` is an interpreter
    importing the app, 2 CPU-s and more) run once, not once a boot.
    ``bench/workspace_copies.py`` measures the clone.
    """
    return clone(main, tmp / "noenv" / main.name)


def _boot_without_env(
    subject: Subject,
    injected: dict[str, str],
    options: Options,
    tmp: Path,
    workspace: Path,
    isolated: str,
    set_up_done: bool,
) -> tuple[NoEnvBoot, tuple[ConnectionAttempt, ...]]:
    """Boot the second workspace with every PostHog variable unset and ask for ``/``.

    It runs under the same isolation and guard as the main boot, with a mock
    of its own (its batches, if any, are not the main run's evidence), so a
    host the app hardcodes is answered here too, never by the real PostHog.
    """
    unset = tuple(sorted(set(injected) | set(subject.static.env_names)))
    env = base_environ(options.environ) | app_settings(subject, options, workspace)
    env = {k: v for k, v in env.items() if k not in unset and not k.upper().startswith("POSTHOG")}
    # The set-up ran where this workspace was cloned from; only when it failed
    # there is it tried again here (a failure shows in the boot that follows).
    _, env = set_up(
        Run(app=subject.app), subject, options, workspace, env, run_commands=not set_up_done
    )
    with CaptureServer(unix_socket=isolated == NAMESPACES) as mock:
        process = AppProcess(
            workspace,
            subject.location.target,
            env | {"POSTHOG_VERIFY_MOCK_URL": mock.url},
            tmp / "noenv.log",
            server=options.server,
            probe_token="noenv",
            timeouts=options.timeouts,
            python=options.python,
            server_args=options.server_args,
            isolate=isolated == NAMESPACES,
            mock=_route(mock),
            contain=isolated != NAMESPACES,
        )
        with process:
            boot = _serve_root(process, unset, options)
    connections = tuple(
        dataclasses.replace(c, boot="no_env") for c in process.records().connections
    )
    return boot, connections


def _serve_root(process: AppProcess, unset: tuple[str, ...], options: Options) -> NoEnvBoot:
    try:
        base_url = process.start()
    except BootError as exc:
        return NoEnvBoot(served=False, status=None, unset=unset, failure=exc.failure)
    transport = HttpTransport(base_url)
    try:
        status: int | None = transport.request(
            "GET", "/", headers={}, timeout=options.timeouts.request_s
        ).status
    except TransportError as exc:
        status, cause = None, str(exc)
    else:
        cause = ""
    finally:
        transport.close()
    outcome = process.stop()
    if status is None:
        failure = BootFailure(
            Phase.BOOT, f"GET / got no answer: {cause}", detail=outcome.stderr_tail
        )
        return NoEnvBoot(served=False, status=None, unset=unset, failure=failure)
    return NoEnvBoot(served=True, status=status, unset=unset)
