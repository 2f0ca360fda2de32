"""The child-process entry that boots an app under judgement as a real server.

Run by :class:`harness.subject.process.AppProcess`, with the app's fresh
workspace as the working directory::

    python -m harness.serve --target app:create_app --log /tmp/run/log.jsonl \\
        --probe-token probe-123

It installs the instrumentation (:mod:`harness.subject.instrument`) before the
app is imported, builds the app, adds the probe routes, binds 127.0.0.1 on a
free port, prints exactly one ``POSTHOG_VERIFY_READY http://127.0.0.1:PORT``
line, and serves until SIGTERM or SIGINT, which it turns into a clean
interpreter exit (atexit handlers run) as gunicorn does. Every observation is
a JSON line in ``--log``; a boot failure is a ``boot_failure`` line and exit
code 3.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import importlib.util
import os
import signal
import sys
import threading
import traceback
import types
import typing as t
from pathlib import Path

from harness.subject.failures import missing_settings
from harness.subject.instrument import MOCK_URL_ENV
from harness.subject.instrument import FileSink
from harness.subject.instrument import Instrumentation
from harness.subject.instrument import PosthogVerifyProbeError
from harness.subject.runtime import CLIENT_ADDRESS
from harness.subject.runtime import missing_sdk_api
from harness.subject.runtime import missing_sdk_module
from harness.subject.runtime import package_versions
from harness.subject.runtime import runtime_record
from harness.subject.runtime import unsupported

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from flask import Flask

READY_PREFIX = "POSTHOG_VERIFY_READY"
BOOT_FAILURE_EXIT = 3
PROBE_PREFIX = "/__posthog_verify__"
#: Called with the URL once the app serves, after the READY line: the zygote
#: (:mod:`harness.subject.zygote`) forwards it, as its children's stdout is a file.
READY_HOOKS: list[Callable[[str], None]] = []
#: gunicorn's server hooks an app's config file may define, honoured as
#: gunicorn would call them (``post_fork`` building a client per worker is the
#: fix for a preloaded app, posthog-python#290). The file is the app's own
#: code and runs where the app runs, in its sandbox; only these names are
#: taken from it, the settings come from the serve plan (read with ``ast``).
GUNICORN_HOOKS = (
    "on_starting",
    "when_ready",
    "pre_fork",
    "post_fork",
    "post_worker_init",
    "worker_int",
    "worker_abort",
    "pre_request",
    "post_request",
    "child_exit",
    "worker_exit",
    "nworkers_changed",
    "on_exit",
)


class BootFailed(Exception):
    """The app could not be built; carries the ``boot_failure`` record's fields."""

    def __init__(self, phase: str, app_raised: bool, cause: str, detail: str) -> None:
        super().__init__(cause)
        self.fields = {"phase": phase, "app_raised": app_raised, "cause": cause, "detail": detail}


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raised_inside(tb: types.TracebackType | None, code: types.CodeType | None) -> bool:
    """True when the traceback went through ``code`` (the factory ran and raised)."""
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _missing_dependency(exc: BaseException) -> str | None:
    """The package a ``ModuleNotFoundError`` names when neither the app's folder
    nor this environment has it at all: the environment lacks the app's
    requirements, which is no verdict on the app. A module missing inside an
    installed package (``posthog.integrations.nope``) is the app's own mistake.
    """
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    here = Path.cwd()
    local = (here / top, here / f"{top}.py", here / "src" / top, here / "src" / f"{top}.py")
    if any(p.exists() for p in local) or importlib.util.find_spec(top) is not None:
        return None
    return top


def _server_failure(server: str, exc: ImportError) -> BootFailed:
    """The server the app's repository names cannot even be imported where the
    app runs: the environment's fault, never the integration's."""
    cause = (
        f"the app's {server} cannot be imported in the app's interpreter ({sys.executable}): "
        f"{_one_line(exc)}"
    )
    if exc.name == "pkg_resources":
        cause += (
            f" ({server} of this age imports pkg_resources, which setuptools 81 and later "
            "no longer ship: pin setuptools<81 in the app's requirements, or a newer "
            f"{server})"
        )
    cause += "; or pass --posthog-server werkzeug"
    return BootFailed("import", False, cause, traceback.format_exc())


def _app_failure(phase: str, exc: BaseException, app_raised: bool) -> BootFailed:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        too_old = missing_sdk_module(exc.name, package_versions())
    else:
        too_old = missing_sdk_api(exc, package_versions())
    if too_old is not None:
        return BootFailed(phase, False, too_old, traceback.format_exc())
    missing = _missing_dependency(exc)
    if missing is not None:
        cause = (
            f"the app imports {missing!r}, which is not installed in the app's interpreter "
            f"({sys.executable}): install the app's requirements there "
            "(pip install -r requirements.txt), or pass --posthog-install (an environment "
            "it built lacks it when the requirements do not name it: add it to them)"
        )
        return BootFailed(phase, False, cause, traceback.format_exc())
    settings = missing_settings(exc, os.environ)
    if settings:
        names = " or ".join(repr(name) for name in settings)
        cause = (
            f"the app needs the environment variable {names}, which is not set "
            f"({_one_line(exc)}): set it in the app's manifest [env] "
            "(posthog-verify.toml), in a file given to --posthog-env-file, or where "
            "pytest runs (it reaches the app)"
        )
        return BootFailed(phase, False, cause, traceback.format_exc())
    return BootFailed(phase, app_raised, _one_line(exc), traceback.format_exc())


class _StopRequested(SystemExit):
    """The stop signal arrived before the server was up."""


def import_target(module_name: str) -> types.ModuleType:
    """Import the app's module; tell "the app raised" from "no such module"."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            cause = f"no module named {module_name!r} in {Path.cwd()}"
            raise BootFailed("import", False, cause, traceback.format_exc()) from exc
        raise _app_failure("import", exc, True) from exc
    except _StopRequested:
        raise
    except (Exception, SystemExit) as exc:
        raise _app_failure("import", exc, True) from exc


def build_app(target: str, instrumentation: Instrumentation) -> Flask:
    """``module:attr`` to a Flask app: an instance, or a factory called with no args."""
    from flask import Flask

    module_name, _, attr = target.partition(":")
    module = import_target(module_name)
    instrumentation.emit("imported", module=module_name)
    obj = getattr(module, attr or "app", None)
    if obj is None:
        cause = f"module {module_name!r} has no attribute {attr!r} (target {target!r})"
        raise BootFailed("boot", False, cause, "")
    if isinstance(obj, Flask):
        return obj
    if not callable(obj):
        raise BootFailed("boot", False, f"{target} is {type(obj).__name__}, not a Flask app", "")
    try:
        app = obj()
    except _StopRequested:
        raise
    except (Exception, SystemExit) as exc:
        code = getattr(obj, "__code__", None)
        app_raised = code is None or _raised_inside(exc.__traceback__, code)
        raise _app_failure("boot", exc, app_raised) from exc
    if not isinstance(app, Flask):
        cause = f"factory {target} returned {type(app).__name__}, not a Flask app"
        raise BootFailed("boot", False, cause, "")
    return app


def add_probe_routes(app: Flask, token: str, instrumentation: Instrumentation) -> None:
    """``/raise`` raises inside a view (the app's error handling runs);
    ``/ready`` answers 200. A failure is recorded, never fatal."""

    def probe_raise() -> str:
        # Recorded so a check can tell "the view ran and raised" from "the
        # app's own guard (a login wall) answered before the view".
        instrumentation.emit("probe_entered", step=instrumentation.step)
        raise PosthogVerifyProbeError(f"posthog-verify probe {token}")

    def probe_ready() -> str:
        return "ok"

    try:
        app.add_url_rule(f"{PROBE_PREFIX}/raise", _probe_endpoint(app), probe_raise)
        app.add_url_rule(f"{PROBE_PREFIX}/ready", "__posthog_verify_ready", probe_ready)
    except Exception as exc:
        instrumentation.emit("probe_failed", cause=_one_line(exc))


def _probe_endpoint(app: Flask) -> str:
    """The probe's endpoint: the app's own, or, when only a blueprint handles
    errors (``@bp.errorhandler(500)``), inside that blueprint, whose handlers
    Flask then applies to it, as to every view the app really has there."""
    if _handles_errors(app, None):
        return "__posthog_verify_raise"
    for scope in app.error_handler_spec:
        if scope is not None and _handles_errors(app, scope):
            return f"{scope}.__posthog_verify_raise"
    return "__posthog_verify_raise"


def _handles_errors(app: Flask, scope: str | None) -> bool:
    """A 500 handler, or one for Exception (or a base of it), in ``scope``."""
    by_code = app.error_handler_spec.get(scope, {})
    if by_code.get(500):
        return True
    return any(issubclass(Exception, cls) for cls in by_code.get(None, {}))


def routes_record(app: Flask) -> list[dict[str, t.Any]]:
    return [
        {"rule": r.rule, "methods": sorted(r.methods or ()), "endpoint": r.endpoint}
        for r in app.url_map.iter_rules()
    ]


def prepare(target: str, token: str, instrumentation: Instrumentation) -> Flask:
    """Build the app and get it ready to serve (routes recorded, probes added)."""
    app = build_app(target, instrumentation)
    # Probes first, so the routes the planner reads include them.
    add_probe_routes(app, token, instrumentation)
    instrumentation.emit("routes", rules=routes_record(app))
    # Patching a method on the instance; mypy also compares it with the unbound
    # method (``self`` included), hence ``assignment``.
    app.wsgi_app = instrumentation.wrap_wsgi(app.wsgi_app)  # type: ignore[method-assign, assignment]
    instrumentation.watch_errors(app)
    app.wsgi_app = with_client_address(app.wsgi_app)  # type: ignore[method-assign]
    return app


def with_client_address(wsgi_app: t.Any, address: str = CLIENT_ADDRESS) -> t.Any:
    """``wsgi_app`` seeing every request come from ``address`` (a canary), in
    werkzeug and gunicorn alike: on loopback, an app that copies
    ``request.remote_addr`` into events would leak nothing the checks could see."""

    def app(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        environ["REMOTE_ADDR"] = address
        return wsgi_app(environ, start_response)

    return app


def announce_ready(url: str, instrumentation: Instrumentation) -> None:
    # One write of the whole line: every gunicorn worker announces itself on
    # the same pipe, and print()'s separate writes of text and newline let two
    # workers' lines interleave into one the parent cannot read. A write of
    # fewer than PIPE_BUF bytes to a pipe is atomic.
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), f"{READY_PREFIX} {url}\n".encode())
    instrumentation.emit("ready", url=url)
    for hook in READY_HOOKS:
        hook(url)


def serve_werkzeug(
    app: Flask, host: str, instrumentation: Instrumentation, listen_fd: int | None = None
) -> None:
    """Serve until SIGTERM/SIGINT; the handler only starts a thread, because
    ``shutdown()`` waits for ``serve_forever`` running on this very thread.

    :param listen_fd: a socket bound and listening already (made outside the
        app's network namespace, see :mod:`harness.subject.sandbox`).
    """
    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True, fd=listen_fd)
    if listen_fd is not None:
        os.close(listen_fd)  # werkzeug serves a duplicate of it

    def on_signal(signum: int, frame: t.Any) -> None:
        name = signal.Signals(signum).name
        instrumentation.emit("stopping", signal=name)
        threading.Thread(target=server.shutdown, name="posthog-verify-stop").start()

    # An app that installed its own handler (or ignores the signal) keeps it.
    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is _stop_during_boot:
            signal.signal(sig, on_signal)
    announce_ready(f"http://{host}:{server.socket.getsockname()[1]}", instrumentation)
    try:
        # socketserver notices shutdown() only between polls (0.5 s by default):
        # a short interval keeps the stop from waiting on the loop.
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()


def serve_gunicorn(args: argparse.Namespace, instrumentation: Instrumentation) -> int:
    """Serve with gunicorn: by default one ``gthread`` worker, the app loaded in
    the worker (not preloaded), so the process that runs the app is the one
    whose interpreter exits cleanly on SIGTERM (arbiter -> worker SIGTERM ->
    worker ``sys.exit(0)``) and runs the app's atexit handlers. ``--workers``,
    ``--worker-class``, ``--threads`` and ``--preload`` serve it as its
    repository says (:mod:`harness.subject.production`); preloaded, the app is
    built in the arbiter and its workers are forks of it. ``--config`` runs the
    app's ``gunicorn.conf.py`` and honours its hooks (:data:`GUNICORN_HOOKS`). Never returns: the
    arbiter exits with its own status (3 when the worker failed to boot)."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # the app's own gunicorn, from its requirements
        raise _server_failure("gunicorn", exc) from exc

    def load() -> t.Any:
        try:
            return prepare(args.target, args.probe_token, instrumentation)
        except BootFailed as failed:
            instrumentation.emit("boot_failure", **failed.fields)
            sys.exit(BOOT_FAILURE_EXIT)  # the arbiter halts on a worker boot error

    hooks = _config_hooks(args.config, instrumentation) if args.config else {}
    own_init = hooks.pop("post_worker_init", None)

    def post_worker_init(worker: t.Any) -> None:
        if own_init is not None:  # the app's first: ready means after it
            own_init(worker)
        host, port = worker.sockets[0].getsockname()[:2]
        announce_ready(f"http://{host}:{port}", instrumentation)

    bind = f"fd://{args.listen_fd}" if args.listen_fd is not None else f"{args.host}:0"
    options = {
        **hooks,
        "bind": bind,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "preload_app": args.preload,
        "control_socket_disable": True,
        "post_worker_init": post_worker_init,
        "loglevel": "warning",
    }

    class _Application(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped (Any)
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> t.Any:
            return load()

    _Application().run()
    return 0


def _config_hooks(path: str, instrumentation: Instrumentation) -> dict[str, t.Any]:
    """Run the app's gunicorn config file, as gunicorn does in the arbiter
    before it loads the app, and return the :data:`GUNICORN_HOOKS` it defines.
    A file that raises is the app's own failure to boot."""
    import runpy

    try:
        namespace = runpy.run_path(path, run_name="__config__")
    except BaseException as exc:  # SystemExit too: the arbiter would not start
        failed = BootFailed(
            "boot", True, f"{path} raised: {_one_line(exc)}", traceback.format_exc()
        )
        instrumentation.emit("boot_failure", **failed.fields)
        sys.exit(BOOT_FAILURE_EXIT)
    return {name: namespace[name] for name in GUNICORN_HOOKS if callable(namespace.get(name))}


def _install_signals(handler: t.Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _stop_during_boot(signum: int, frame: t.Any) -> None:
    raise _StopRequested(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.serve", description=__doc__)
    parser.add_argument("--target", required=True, help="module:attr (a Flask app or factory)")
    parser.add_argument("--log", required=True, help="JSON-lines observation log")
    parser.add_argument("--server", choices=("werkzeug", "gunicorn"), default="werkzeug")
    parser.add_argument("--probe-token", default="", help="tags the probe route's exception")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn only")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn only")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn only")
    parser.add_argument("--preload", action="store_true", help="gunicorn only")
    parser.add_argument("--config", default=None, help="gunicorn only: the app's config file")
    parser.add_argument(
        "--listen-fd", type=int, default=None, help="serve on this listening socket (sandbox)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path.cwd()))
    sink = FileSink(args.log)
    # Registered before anything of the app's: atexit is LIFO, so this runs last.
    atexit.register(sink.write, {"type": "exit"})
    runtime = runtime_record()
    sink.write(runtime)  # first: the parent reads the seam's version from it
    problem = unsupported(runtime["versions"], args.server)
    if problem is not None:
        sink.write({"type": "boot_failure", "phase": "boot", "app_raised": False, "cause": problem})
        return BOOT_FAILURE_EXIT
    instrumentation = Instrumentation(Path.cwd(), sink, mock_url=os.environ.get(MOCK_URL_ENV))
    instrumentation.install()
    _install_signals(_stop_during_boot)
    if args.server == "gunicorn":
        try:
            return serve_gunicorn(args, instrumentation)
        except BootFailed as failed:  # raised before the arbiter starts
            instrumentation.emit("boot_failure", **failed.fields)
            return BOOT_FAILURE_EXIT
    try:
        app = prepare(args.target, args.probe_token, instrumentation)
    except BootFailed as failed:
        instrumentation.emit("boot_failure", **failed.fields)
        return BOOT_FAILURE_EXIT
    serve_werkzeug(app, args.host, instrumentation, args.listen_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
