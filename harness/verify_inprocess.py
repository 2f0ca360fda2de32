"""Verify an app inside this interpreter: the in-process mode ("booted both ways").

The same verification as :func:`harness.verify.verify_app`, without a child
process: the app is imported in isolation from a fresh copy of its folder,
its PostHog traffic is intercepted with ``responses`` (nothing leaves the
process), and the scenario is driven through Flask's test client::

    run = verify_in_process(Path("target_apps/reference"), name="reference")
    results = run_checks(run)   # flush_on_shutdown, boots_without_posthog_env: skip

Only pytest's own interpreter can run the app here: an app meant to run
under another (``python=``, the manifest's ``python``) is refused, every check
``error`` naming the server mode as the fix (:func:`other_interpreter`).

There is no process exit in process, so every PostHog client the app built is
shut down explicitly (what its ``atexit`` handler would do); the checks skip
``flush_on_shutdown`` in this mode. Everything the app changes in this
interpreter is put back afterwards: environment, cwd, ``sys.path``, the app's
modules, the SDK's module-level settings, ``sys.excepthook`` and
``threading.excepthook`` (exception autocapture replaces them), Flask signal
receivers bound to the app, and ``atexit``: the app's registrations are
diverted into a list and dropped, so none runs when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import os
import sys
import tempfile
import threading
import time
import types
import typing as t
from pathlib import Path

from harness.capture import CaptureServer
from harness.capture.interception import intercept
from harness.environ import snapshot
from harness.limits import DEFAULT_LIMIT_BYTES
from harness.run import AppRef
from harness.run import BootFailure
from harness.run import Phase
from harness.run import Run
from harness.scenario import FlaskClientTransport
from harness.scenario import drive
from harness.scenario import load_scenario
from harness.scenario import routes_from_app
from harness.scenario.crawl import fetcher
from harness.scenario.outcomes import with_failures
from harness.scenario.plan import plan_app
from harness.serve import BootFailed
from harness.serve import add_probe_routes
from harness.subject.inprocess import isolated_import
from harness.subject.instrument import MOCK_URL_ENV
from harness.subject.instrument import Instrumentation
from harness.subject.instrument import ListSink
from harness.subject.interpreter import InterpreterError
from harness.subject.interpreter import is_default
from harness.subject.interpreter import resolve_python
from harness.subject.observations import boot_failure_from
from harness.subject.observations import identified_in
from harness.subject.observations import parse_records
from harness.subject.process import Timeouts
from harness.subject.runtime import package_versions
from harness.subject.setup import import_root_in
from harness.subject.workspace import WorkspaceTooLarge
from harness.subject.workspace import fresh_copy
from harness.verify import Options
from harness.verify import Subject
from harness.verify import app_settings
from harness.verify import base_environ
from harness.verify import find
from harness.verify import new_run
from harness.verify import over_budget
from harness.verify import set_up

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

    from flask import Flask

    from harness.capture.interception import InProcessMock
    from harness.scenario import Identity
    from harness.subject.discovery import AppLocation
    from harness.subject.manifest import Manifest

MODE = "in_process"
#: The host injected in process: never resolvable (``.invalid``, RFC 2606), and
#: never reached anyway: ``intercept`` answers every PostHog path itself.
MOCK_HOST = "https://posthog-verify.invalid"


def verify_in_process(
    app_root: Path,
    *,
    name: str,
    scenario: str = "default",
    timeouts: Timeouts | None = None,
    workdir: Path | None = None,
    workspace_limit_bytes: int = DEFAULT_LIMIT_BYTES,
    python: str | None = None,
) -> Run:
    """Verify one app in this interpreter and return everything observed.

    :param app_root: the app's folder; it is never modified (the app runs in
        a fresh copy under ``workdir``, a temporary directory by default).
    :param name: the app's id in reports.
    :param scenario: the scenario's name (``scenarios/<name>.toml``).
    :param timeouts: only ``request_s`` is used: each test-client request's deadline.
    :param workspace_limit_bytes: what the copy may take on disk
        (:func:`harness.subject.workspace.fresh_copy`); past it, every check is ``error``.
    :param python: the interpreter the app should run under (``--posthog-python``).
        This mode has only pytest's: another one, here or as the manifest's
        ``python``, is refused (every check ``error``, naming the fix) rather
        than judged with the wrong Flask and SDK.
    """
    started = time.monotonic()
    subject = find(app_root, name)
    if isinstance(subject, BootFailure):
        app = AppRef(name=name, root=str(app_root))
        return Run(app=app, mode=MODE, boot_failure=subject, duration_s=time.monotonic() - started)
    refused = other_interpreter(subject, python)
    if refused is not None:
        return Run(app=subject.app, mode=MODE, boot_failure=refused)
    request_s = (timeouts or Timeouts()).request_s
    with tempfile.TemporaryDirectory(prefix="posthog-verify-inprocess-", dir=workdir) as tmp:
        try:
            workspace = fresh_copy(Path(app_root), Path(tmp), limit_bytes=workspace_limit_bytes)
        except WorkspaceTooLarge as exc:  # the environment's to fix: error, not the app's fail
            failure = BootFailure(Phase.DISCOVER, str(exc))
            return Run(app=subject.app, mode=MODE, boot_failure=failure)
        target = _Target(
            workspace,
            subject.location,
            subject.manifest,
            scenario,
            request_s,
            import_root_in(Path(app_root), subject.location, workspace),
        )
        run = dataclasses.replace(_in_sandbox(subject, target), workspace=str(workspace.resolve()))
    return dataclasses.replace(run, duration_s=time.monotonic() - started)


def other_interpreter(subject: Subject, python: str | None) -> BootFailure | None:
    """Why this app cannot be verified in process: it is to run under another
    interpreter than pytest's (``python``, else its manifest's ``python``),
    whose packages an import here would never see. None when it is pytest's."""
    source = "--posthog-python"
    manifest = subject.manifest
    if python is None and manifest is not None and manifest.python is not None:
        source = f"{manifest.label} python"
        try:
            python = resolve_python(manifest.python, Path(subject.app.root), source)
        except InterpreterError as exc:
            return BootFailure(Phase.DISCOVER, str(exc))
    if is_default(python):
        return None
    versions = package_versions()
    here = ", ".join(f"{n} {versions[n]}" for n in ("flask", "posthog") if n in versions)
    cause = (
        f"{source} names {python}, but in-process verification imports the app into "
        f"pytest's own interpreter ({sys.executable}: {here}), so it would judge the app "
        "with the wrong Flask and SDK: verify it as a server (pytest --posthog-verify, "
        "harness.verify.verify_app), which runs it under that interpreter, or run the "
        "in-process test under that interpreter itself"
    )
    return BootFailure(Phase.DISCOVER, cause)


@dataclasses.dataclass(frozen=True)
class _Target:
    """Where the copy to boot is, and how to drive it."""

    workspace: Path
    location: AppLocation
    manifest: Manifest | None
    scenario: str
    request_s: float
    import_root: Path | None = None  # a src/ layout's, inside the workspace


def _in_sandbox(subject: Subject, target: _Target) -> Run:
    """Boot, drive and flush with every process-wide change undone on the way out."""
    run, identity, env = new_run(subject, mode=MODE, mock_host=MOCK_HOST)
    app_env = base_environ(snapshot()) | app_settings(subject, Options(), target.workspace) | env
    run = _set_up(run, subject, target, app_env)
    if run.boot_failure is not None:  # the app's set-up failed: nothing to import
        return run
    sink = ListSink()
    instrumentation = Instrumentation(target.workspace, sink)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_environment(app_env))
        stack.enter_context(_sdk_state())
        stack.enter_context(_diverted_atexit())
        clients = stack.enter_context(_tracked_clients())
        mock = stack.enter_context(intercept())
        stack.enter_context(_installed(instrumentation))
        try:
            run = _boot_and_drive(run, stack, target, identity, instrumentation)
        finally:
            stop_errors = _shut_down(clients)
        return _with_observations(run, sink, mock, stop_errors)


def _boot_and_drive(
    run: Run,
    stack: contextlib.ExitStack,
    target: _Target,
    identity: Identity,
    instrumentation: Instrumentation,
) -> Run:
    assert run.canaries is not None
    if target.import_root is not None:
        stack.enter_context(_on_sys_path(target.import_root))
    try:
        # isolated_import wraps wsgi_app with the instrumentation (step header).
        flask_app = stack.enter_context(
            isolated_import(target.workspace, target.location.target, instrumentation)
        )
    except BootFailed as failed:
        return dataclasses.replace(run, boot_failure=boot_failure_from(failed.fields))
    stack.callback(_disconnect_signals, flask_app)
    add_probe_routes(flask_app, run.canaries.probe, instrumentation)
    fetch = fetcher(FlaskClientTransport(flask_app), target.request_s)
    routes = routes_from_app(flask_app)
    steps = plan_app(load_scenario(target.scenario), routes, target.manifest, fetch=fetch)
    sink = t.cast(ListSink, instrumentation.sink)

    def identified_as(index: int) -> str | None:
        return identified_in(parse_records(list(sink.records)), index, identity.distinct_id)

    transport = FlaskClientTransport(flask_app)
    result = drive(
        transport,
        steps,
        run.canaries,
        identity,
        identified_as=identified_as,
        timeout_s=target.request_s,
    )
    failure = None
    if result.error is not None:
        failure = BootFailure(Phase.REQUEST, result.error)
    return dataclasses.replace(
        run,
        exchanges=result.exchanges,
        boot_failure=failure,
        steps_skipped=dict(steps.skipped) | dict(result.skipped),
        steps_incomplete=dict(result.incomplete),
    )


def _set_up(run: Run, subject: Subject, target: _Target, env: dict[str, str]) -> Run:
    """The app's set-up, in a child process as in server mode: behind the
    network guard, its PostHog traffic going to a mock of its own (not judged)."""
    if not subject.planned_setup:
        return run
    with CaptureServer() as mock:
        env = env | {MOCK_URL_ENV: mock.url}
        run, _ = set_up(run, subject, Options(), target.workspace, env)
    return run


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    """``folder`` first on ``sys.path`` while active (a src/ layout's import root)."""
    saved = list(sys.path)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path[:] = saved


def _with_observations(
    run: Run, sink: ListSink, mock: InProcessMock, stop_errors: tuple[str, ...]
) -> Run:
    observed = parse_records(list(sink.records))
    errors = tuple(str(e) for e in mock.store.handler_errors)
    exchanges, _ = with_failures(run.exchanges, observed, None, app_gone=False)
    return dataclasses.replace(
        run,
        exchanges=exchanges,
        requests=tuple(mock.store.requests()),
        events=tuple(mock.store.events()),
        clients=observed.clients,
        atexit=observed.atexit,
        capture_calls=observed.capture_calls,
        enqueued=observed.enqueued,
        probe_entered=observed.probe_entered,
        propagated=observed.propagated,
        harness_errors=run.harness_errors + errors + stop_errors + over_budget(mock.store),
    )


# -- what the app may change in this interpreter, and how it is put back ------


@contextlib.contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    """Exactly ``environ`` while active (the shell's POSTHOG_* never steer the app)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _sdk_state() -> Iterator[None]:
    """The SDK's module-level settings (``posthog.api_key``, ``host``,
    ``default_client``...) and the exception hooks its autocapture replaces."""
    posthog = _posthog_module()
    saved = dict(vars(posthog)) if posthog is not None else {}
    hooks = (sys.excepthook, threading.excepthook)
    try:
        yield
    finally:
        sys.excepthook, threading.excepthook = hooks
        if posthog is not None:
            _restore_namespace(posthog, saved)


def _restore_namespace(module: types.ModuleType, saved: dict[str, t.Any]) -> None:
    """Put back every attribute; drop new ones, except submodules imported meanwhile
    (``posthog.integrations``), which stay consistent with ``sys.modules``."""
    current = vars(module)
    for key in [k for k in current if k not in saved]:
        if not isinstance(current[key], types.ModuleType):
            del current[key]
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            current[key] = value


_MISSING = object()


@contextlib.contextmanager
def _diverted_atexit() -> Iterator[list[Callable[..., t.Any]]]:
    """``atexit.register`` into a list that is dropped afterwards: the handlers
    the app (and its SDK clients) register must not run when pytest exits.
    The clients they would flush are shut down explicitly (:func:`_shut_down`)."""
    diverted: list[Callable[..., t.Any]] = []
    # Widened from the stub's ParamSpec generic, which functools.wraps cannot infer.
    real_register: Callable[..., t.Any] = atexit.register
    real_unregister = atexit.unregister

    @functools.wraps(real_register)
    def register(func: Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        diverted.append(func)
        return func

    @functools.wraps(real_unregister)
    def unregister(func: Callable[..., t.Any]) -> None:
        diverted[:] = [f for f in diverted if f != func]

    atexit.register, atexit.unregister = register, unregister  # type: ignore[assignment]
    try:
        yield diverted
    finally:
        atexit.register, atexit.unregister = real_register, real_unregister


@contextlib.contextmanager
def _tracked_clients() -> Iterator[list[t.Any]]:
    """Every ``posthog.Client`` built while active, module default included.

    The instrumentation records clients by id only; shutting them down needs
    the objects. Installed before the instrumentation, which then wraps this.
    """
    client_module = sys.modules.get("posthog.client") or _import_client_module()
    clients: list[t.Any] = []
    if client_module is None:
        yield clients
        return
    cls = client_module.Client
    original = cls.__dict__["__init__"]

    @functools.wraps(original)
    def __init__(client: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        original(client, *args, **kwargs)
        clients.append(client)  # only once built: a half-built client cannot shut down

    cls.__init__ = __init__
    try:
        yield clients
    finally:
        cls.__init__ = original


@contextlib.contextmanager
def _installed(instrumentation: Instrumentation) -> Iterator[None]:
    instrumentation.install()
    try:
        yield
    finally:
        instrumentation.uninstall()


def _shut_down(clients: list[t.Any]) -> tuple[str, ...]:
    """``shutdown()`` each client, as its atexit handler would at process exit
    (flush the queue, join the consumer threads). A failure is scoped to the
    stop (``flush_on_shutdown``, which this mode skips)."""
    errors = []
    for number, client in enumerate(clients):
        try:
            client.shutdown()
        except Exception as exc:
            errors.append(f"stop: shutdown() of client #{number} raised {exc!r}")
    return tuple(errors)


def _disconnect_signals(app: Flask) -> None:
    """Drop the receivers connected for ``app`` (PostHog's Flask integration
    connects ``got_request_exception`` with ``weak=False``, keeping the app alive)."""
    import blinker
    from flask import signals

    for signal in vars(signals).values():
        if isinstance(signal, blinker.Signal):
            for receiver in list(signal.receivers_for(app)):
                signal.disconnect(receiver, sender=app)


def _posthog_module() -> types.ModuleType | None:
    try:
        import posthog
    except ImportError:
        return None
    return posthog


def _import_client_module() -> types.ModuleType | None:
    try:
        import posthog.client
    except ImportError:
        return None
    return posthog.client
