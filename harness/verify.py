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
import os
import secrets
import tempfile
import time
import typing as t
from pathlib import Path

from harness.capture import CaptureServer
from harness.capture import RequestKind
from harness.run import AppRef
from harness.run import BootFailure
from harness.run import NoEnvBoot
from harness.run import Phase
from harness.run import Run
from harness.scenario import HttpTransport
from harness.scenario import drive
from harness.scenario import load_scenario
from harness.scenario import make_canaries
from harness.scenario import make_identity
from harness.scenario import plan
from harness.scenario.transport import TransportError
from harness.static import analyze
from harness.target.discovery import DiscoveryError
from harness.target.discovery import discover
from harness.target.manifest import ManifestError
from harness.target.manifest import load_manifest
from harness.target.observations import identified_in
from harness.target.process import AppProcess
from harness.target.process import BootError
from harness.target.process import Timeouts
from harness.target.sandbox import NAMESPACES
from harness.target.sandbox import MockRoute
from harness.target.sandbox import isolation
from harness.target.workspace import fresh_copy

if t.TYPE_CHECKING:
    from harness.run import ConnectionAttempt
    from harness.run import Exchange
    from harness.run import ProcessOutcome
    from harness.run import StaticFacts
    from harness.scenario import Identity
    from harness.target.discovery import AppLocation
    from harness.target.manifest import Manifest
    from harness.target.observations import Observations

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
    """How to verify: which server, which deadlines, which scenario."""

    server: str = "werkzeug"
    timeouts: Timeouts = dataclasses.field(default_factory=Timeouts)
    scenario: str = "default"
    workdir: Path | None = None  # where workspaces go; a fresh temp dir by default


def injected_env(
    static: StaticFacts, token: str, host: str, manifest: Manifest | None = None
) -> dict[str, str]:
    """The token and the mock's host under every name the app might read.

    A name from the source is a host when it says HOST or URL; every other
    name that says KEY or TOKEN gets the token. Names such as
    ``POSTHOG_DISABLED`` are left alone: guessing a value for them could
    switch the integration off. Config keys read after
    ``config.from_prefixed_env(prefix)`` are also set as ``<prefix>_<KEY>``;
    the manifest's ``[env]`` names are set as it says.
    """
    names = set(KEY_ENV_NAMES) | set(HOST_ENV_NAMES) | set(static.env_names)
    names |= {f"{p}_{k}" for p in static.env_prefixes for k in (*names, *static.config_keys)}
    env: dict[str, str] = {}
    for name in names:
        upper = name.upper()
        if "HOST" in upper or "URL" in upper:
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


def base_environ() -> dict[str, str]:
    """The parent's environment without anything that would steer the app.

    Every ``POSTHOG*`` variable of the harness's own environment is dropped, so
    only what the harness injects reaches the app; so are pytest's own and the
    Flask variables that change how the app runs.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("POSTHOG", "PYTEST_", *_STEERING))
    }


@dataclasses.dataclass(frozen=True)
class Subject:
    """An app found and read (never run), ready to be booted in either mode."""

    app: AppRef
    location: AppLocation
    manifest: Manifest | None
    static: StaticFacts


def find(app_root: Path, name: str) -> Subject | BootFailure:
    """Read the manifest, find the app, read its source; or say why not.

    A candidate file that does not parse is the app's own fault
    (``app_raised``); anything else found wanting is the harness's ``error``.
    """
    app = AppRef(name=name, root=str(app_root))
    try:
        manifest = load_manifest(app_root)
        location = discover(app_root, manifest=manifest)
    except (DiscoveryError, ManifestError) as exc:
        raised = isinstance(exc, DiscoveryError) and exc.app_raised
        return BootFailure(Phase.DISCOVER, str(exc).splitlines()[0], raised, str(exc))
    app = dataclasses.replace(app, target=location.target, found_by=location.found_by)
    return Subject(app, location, manifest, analyze(app_root))


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
        canaries=make_canaries(run_id),
        distinct_id_header=identity.distinct_id,
        session_id_header=identity.session_id,
        static=subject.static,
        skip=dict(subject.manifest.skip) if subject.manifest else {},
    )
    return run, identity, env


def verify_app(app_root: Path, *, name: str, options: Options | None = None) -> Run:
    """Verify one app end to end and return everything observed."""
    options = options or Options()
    started = time.monotonic()
    subject = find(app_root, name)
    if isinstance(subject, BootFailure):
        app = AppRef(name=name, root=str(app_root))
        return Run(app=app, boot_failure=subject, duration_s=time.monotonic() - started)
    with tempfile.TemporaryDirectory(prefix="posthog-verify-", dir=options.workdir) as tmp:
        run = _boot_and_drive(subject, options, Path(tmp))
    return dataclasses.replace(run, duration_s=time.monotonic() - started)


def _boot_and_drive(subject: Subject, options: Options, tmp: Path) -> Run:
    isolated = isolation()
    with (
        CaptureServer(unix_socket=isolated == NAMESPACES) as mock,
        concurrent.futures.ThreadPoolExecutor(1) as side,
    ):
        run, identity, env = new_run(subject, mode="server", mock_host=mock.url)
        no_env = side.submit(_boot_without_env, subject, env, options, tmp, isolated)
        assert run.canaries is not None
        probe = run.canaries.probe
        workspace = fresh_copy(Path(subject.app.root), tmp / "main")
        run = dataclasses.replace(run, workspace=str(workspace.resolve()), isolation=isolated)
        process = AppProcess(
            workspace,
            subject.location.target,
            base_environ() | env | {"POSTHOG_VERIFY_MOCK_URL": mock.url},
            tmp / "main.log",
            server=options.server,
            probe_token=probe,
            timeouts=options.timeouts,
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
            harness_errors=run.harness_errors + errors,
            no_env_boot=no_env_boot,
            connections=process.records().connections + no_env_connections,
        )


def _route(mock: CaptureServer) -> MockRoute | None:
    """Where the mock URL leads from inside an app's network namespace."""
    return None if mock.unix_path is None else MockRoute(mock.port, mock.unix_path)


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
        return dataclasses.replace(run, boot_failure=exc.failure, process=exc.outcome)
    steps = plan(load_scenario(options.scenario), process.records().routes, manifest)
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
    return dataclasses.replace(
        run,
        exchanges=result.exchanges,
        clients=observed.clients,
        atexit=observed.atexit,
        capture_calls=observed.capture_calls,
        enqueued=observed.enqueued,
        probe_entered=observed.probe_entered,
        process=outcome,
        boot_failure=_failure_after_boot(result.error, outcome),
        stop_fault_armed=True,
        steps_skipped=dict(steps.skipped) | dict(result.skipped),
        steps_incomplete=dict(result.incomplete),
        harness_errors=run.harness_errors + _unreachable(result.exchanges, observed),
    )


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


def _failure_after_boot(drive_error: str | None, outcome: ProcessOutcome) -> BootFailure | None:
    """A drive cut short because the app died, or a stop that needed SIGKILL."""
    if drive_error is not None:
        detail = outcome.stderr_tail
        return BootFailure(
            Phase.REQUEST, f"{drive_error} (exit code {outcome.exit_code})", detail=detail
        )
    if outcome.stop_signal and "KILL" in outcome.stop_signal:
        return BootFailure(Phase.STOP, f"the app did not stop: {outcome.stop_signal}")
    return None


def _boot_without_env(
    subject: Subject, injected: dict[str, str], options: Options, tmp: Path, isolated: str
) -> tuple[NoEnvBoot, tuple[ConnectionAttempt, ...]]:
    """Boot a second copy with every PostHog variable unset and ask for ``/``.

    It runs under the same isolation and guard as the main boot, with a mock
    of its own (its batches, if any, are not the main run's evidence), so a
    host the app hardcodes is answered here too, never by the real PostHog.
    """
    unset = tuple(sorted(set(injected) | set(subject.static.env_names)))
    env = {k: v for k, v in base_environ().items() if k not in unset}
    with CaptureServer(unix_socket=isolated == NAMESPACES) as mock:
        process = AppProcess(
            fresh_copy(Path(subject.app.root), tmp / "noenv"),
            subject.location.target,
            env | {"POSTHOG_VERIFY_MOCK_URL": mock.url},
            tmp / "noenv.log",
            server=options.server,
            probe_token="noenv",
            timeouts=options.timeouts,
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
