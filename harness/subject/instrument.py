"""Instrumentation installed inside the app's interpreter, before the app is imported.

It records, as JSON-able dicts (one per line in the child's log), what the app
did with the PostHog SDK: every client it built, every public call it made,
every message the SDK put on its queue, every ``atexit`` registration, plus
when a request was being served and which scenario step it belonged to. The
parent turns those lines back into :mod:`harness.run` records
(:mod:`harness.subject.observations`).

The same object works in the child (:mod:`harness.serve`, records to a file)
and in process (:mod:`harness.subject.inprocess`, records to a list)::

    sink = ListSink()
    instrumentation = Instrumentation(app_root, sink)
    instrumentation.install()
    try:
        ...  # import and drive the app
    finally:
        instrumentation.uninstall()
    sink.records  # [{"type": "client", ...}, {"type": "call", ...}, ...]
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import importlib
import importlib.util
import inspect
import json
import linecache
import os
import queue
import sys
import threading
import types
import typing as t
from pathlib import Path

from harness.subject.failures import describe_exception

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication as WSGIApp

#: The request header that carries the scenario step index into the app.
STEP_HEADER = "X-Posthog-Verify-Step"
_STEP_ENVIRON_KEY = "HTTP_X_POSTHOG_VERIFY_STEP"
#: Added to a redirected outbound request; the capture layer reads it
#: (``harness.capture.records``: same literal there).
ORIGINAL_HOST_HEADER = "X-Posthog-Verify-Original-Host"
#: Where the loopback mock listens, set by the parent in the child's env.
MOCK_URL_ENV = "POSTHOG_VERIFY_MOCK_URL"

CLIENT_METHODS = ("capture", "capture_exception", "set", "set_once", "alias", "group_identify")
MODULE_FUNCTIONS = (
    *CLIENT_METHODS,
    "identify_context",
    "set_context_session",
    "tag",
)
# The event each call produces on the wire; capture's is its first argument.
_CALL_EVENTS = {
    "capture_exception": "$exception",
    "set": "$set",
    "set_once": "$set",
    "alias": "$create_alias",
    "group_identify": "$groupidentify",
}
_POSTHOG_LIFECYCLE = ("shutdown", "flush", "join")
_CLIENT_ID_ATTR = "_posthog_verify_client_id"
# On a queue.Queue the app put items on during a request: id(item) -> the
# steps of the puts not yet taken (one object may be put twice: a sentinel).
_HANDOVER_ATTR = "_posthog_verify_handover"


class PosthogVerifyProbeError(RuntimeError):
    """Raised by the harness's probe route, so its ``$exception`` is recognisable."""


class RecordSink(t.Protocol):
    """Where records go. ``write`` must be thread-safe."""

    def write(self, record: dict[str, t.Any]) -> None: ...


class ListSink:
    """Records kept in memory (in-process use and tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, t.Any]] = []
        self._lock = threading.Lock()

    def write(self, record: dict[str, t.Any]) -> None:
        with self._lock:
            self.records.append(record)


class FileSink:
    """Records appended as JSON lines, one ``write`` call each, so the parent can
    read the file while the child runs. An RLock: a record may be written from
    a signal handler running on the thread that holds it."""

    def __init__(self, path: Path | str) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._lock = threading.RLock()

    def write(self, record: dict[str, t.Any]) -> None:
        line = json.dumps(record, default=repr, ensure_ascii=False) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()


def jsonable(value: t.Any, depth: int = 0) -> t.Any:
    """A JSON-able copy of ``value``: containers recurse, anything else is ``repr``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > 8:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    return repr(value)


class _Locator:
    """Finds the innermost stack frame inside the app's folder."""

    def __init__(self, app_root: Path) -> None:
        self._root = os.path.realpath(app_root)
        self._cache: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        if filename not in self._cache:
            real = os.path.realpath(filename) if not filename.startswith("<") else ""
            inside = real.startswith(self._root + os.sep)
            self._cache[filename] = os.path.relpath(real, self._root) if inside else None
        return self._cache[filename]

    def locate(self) -> dict[str, t.Any] | None:
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            rel = self.relative(frame.f_code.co_filename)
            if rel is not None:
                line = _statement_line(frame)
                text = linecache.getline(frame.f_code.co_filename, line).strip()
                return {"file": rel, "line": line, "text": text}
            frame = frame.f_back
        return None


def _statement_line(frame: types.FrameType) -> int:
    """The first line of the call being made: ``f_lineno`` is the line of the
    current instruction, which for a call spread over lines is its last one."""
    positions = list(frame.f_code.co_positions())
    index = frame.f_lasti // 2
    start = positions[index][0] if 0 <= index < len(positions) else None
    return start or frame.f_lineno or 0


class Instrumentation:
    """Patches the SDK, ``atexit`` and (optionally) the network, and records.

    :param app_root: the app's folder; source locations are relative to it.
    :param sink: where records go.
    :param mock_url: the loopback mock; when set, outbound requests are
        guarded (:mod:`harness.subject.outbound`). In process, leave it None
        and let ``responses`` intercept instead.
    """

    def __init__(self, app_root: Path, sink: RecordSink, *, mock_url: str | None = None) -> None:
        self.app_root = Path(app_root)
        self.sink = sink
        self.mock_url = mock_url
        self.serving = False
        self._locator = _Locator(self.app_root)
        self._step: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "posthog_verify_step", default=None
        )
        self._local = threading.local()
        self._ids = 0
        self._ids_lock = threading.Lock()
        self._patches: list[tuple[t.Any, str, t.Any]] = []
        self._guard: t.Any = None
        # Where the app's code set the module default client's key.
        self._module_key_site: dict[str, t.Any] | None = None

    # -- context -------------------------------------------------------------

    @property
    def phase(self) -> str:
        return "request" if self.serving else "boot"

    @property
    def step(self) -> int | None:
        return self._step.get()

    def emit(self, kind: str, **fields: t.Any) -> None:
        self.sink.write({"type": kind, **fields})

    def _context(self) -> dict[str, t.Any]:
        context = {"phase": self.phase, "step": self.step, "location": self._locator.locate()}
        return context | {"pid": os.getpid()}  # gunicorn workers are forks of one app

    def wrap_wsgi(self, wsgi_app: WSGIApp) -> WSGIApp:
        """Middleware: the first request switches the phase to ``request``; the
        step header is read into a context variable and removed from environ."""

        @functools.wraps(wsgi_app)
        def middleware(environ: dict[str, t.Any], start_response: StartResponse) -> Iterable[bytes]:
            self.serving = True
            raw = environ.pop(_STEP_ENVIRON_KEY, None)
            step = int(raw) if raw and raw.strip().lstrip("-").isdigit() else None
            token = self._step.set(step)
            serving = getattr(self._local, "serving", 0)
            self._local.serving = serving + 1
            # Start and end of each request: a process that dies while serving
            # one leaves a start without an end, which names the request.
            self.emit("request_start", step=step)
            try:
                return wsgi_app(environ, start_response)
            except BaseException as exc:  # teardown, after_request, SystemExit: recorded
                self.record_request_error(exc, "wsgi")
                raise
            finally:
                self.emit("request_end", step=step)
                self._local.serving = serving
                self._step.reset(token)

        return middleware

    def watch_errors(self, app: t.Any) -> None:
        """Record the exception of every request Flask turns into a 500
        (``got_request_exception``, sent before the app's error handlers run);
        exceptions that escape Flask (teardown hooks) are caught by
        :meth:`wrap_wsgi`."""
        from flask import got_request_exception

        def on_exception(sender: t.Any, exception: BaseException, **extra: t.Any) -> None:
            self.record_request_error(exception, "view")
            reason = _propagation(sender)
            if reason is not None:  # Flask re-raises: the app's error handlers never run
                self.emit("propagated", step=self.step, reason=reason)

        got_request_exception.connect(on_exception, app, weak=False)

    def record_request_error(self, exc: BaseException, where: str) -> None:
        """One ``request_error`` record per exception (Flask may re-raise the
        one it signalled); never raises into the app."""
        if getattr(exc, "_posthog_verify_recorded", False):
            return
        with contextlib.suppress(AttributeError):
            exc._posthog_verify_recorded = True  # type: ignore[attr-defined]
        try:
            fields = describe_exception(exc, str(self.app_root))
        except Exception as failure:  # describing must never break the request
            fields = {"cause": f"{type(exc).__name__}: {exc}", "note": repr(failure)}
        self.emit("request_error", step=self.step, where=where, **fields)

    # -- install -------------------------------------------------------------

    def install(self) -> None:
        """Patch everything; call before the app is imported."""
        self._patch_atexit()
        posthog = _import_or_none("posthog")
        client_module = _import_or_none("posthog.client")
        if posthog is not None and client_module is not None:
            self._patch_client(client_module.Client)
            self._patch_module(posthog, client_module.Client)
        self._patch_dotenv()
        self._patch_threads()
        self._patch_queues()
        if self.mock_url:
            from harness.subject.outbound import NetworkGuard

            self._guard = NetworkGuard(self.mock_url, self.emit, step=lambda: self.step)
            self._guard.install()

    def uninstall(self) -> None:
        """Undo every patch, newest first."""
        if self._guard is not None:
            self._guard.uninstall()
            self._guard = None
        while self._patches:
            owner, name, original = self._patches.pop()
            setattr(owner, name, original)

    def _patch(self, owner: t.Any, name: str, replacement: t.Any) -> None:
        self._patches.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    def _patch_threads(self) -> None:
        """A thread started while a request is served carries that request's
        step, so what it captures is attributed to the request; and a work item
        submitted to a ``ThreadPoolExecutor`` carries the step of the request
        that submitted it, whichever request started the pool's thread.

        Only the step is carried: threads do not inherit context variables, so
        the app's own (PostHog's ``new_context`` among them) must not reach the
        thread under the harness when they would not in production.
        """
        original_start = threading.Thread.start
        original_submit: t.Callable[..., concurrent.futures.Future[t.Any]] = (
            concurrent.futures.ThreadPoolExecutor.submit
        )
        step = self._step

        def for_step(current: int | None, work: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            @functools.wraps(work)
            def run(*args: t.Any, **kwargs: t.Any) -> t.Any:
                token = step.set(current)
                try:
                    return work(*args, **kwargs)
                finally:
                    step.reset(token)

            return run

        @functools.wraps(original_start)
        def start(thread: threading.Thread) -> None:
            current = step.get()
            if current is not None:
                # An instance attribute shadows run(), subclasses' overrides included.
                thread.run = for_step(current, thread.run)  # type: ignore[method-assign]
            original_start(thread)

        @functools.wraps(original_submit)
        def submit(
            pool: concurrent.futures.ThreadPoolExecutor,
            fn: t.Callable[..., t.Any],
            /,
            *args: t.Any,
            **kwargs: t.Any,
        ) -> concurrent.futures.Future[t.Any]:
            return original_submit(pool, for_step(step.get(), fn), *args, **kwargs)

        self._patch(threading.Thread, "start", start)
        self._patch(concurrent.futures.ThreadPoolExecutor, "submit", submit)

    def _patch_queues(self) -> None:
        """A worker thread that takes, off a ``queue.Queue``, an item the app's
        code put on it while serving step N works for step N until it takes the
        next item: what it captures is attributed to the exchange that handed
        it over (an outbox drained by a thread started at boot).

        Only puts made by the app's own code (the caller is in its folder) and
        during a request are tagged, so the SDK's queue, a connection pool or
        a library's internal queue never are; a thread serving a request keeps
        its own step whatever it takes. An item taken untagged ends the
        hand-over (the thread is back to no exchange). ``queue.SimpleQueue``
        (a C type) cannot be observed: a call made for one has no step.
        """
        original_put = queue.Queue.put
        original_get = queue.Queue.get
        instr = self
        lock = threading.Lock()

        @functools.wraps(original_put)
        def put(q: queue.Queue[t.Any], item: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
            step = instr.step
            caller = sys._getframe(1).f_code.co_filename
            if step is None or instr._locator.relative(caller) is None:
                original_put(q, item, *args, **kwargs)
                return
            with lock:
                handed = q.__dict__.setdefault(_HANDOVER_ATTR, {})
                handed.setdefault(id(item), []).append(step)
            try:
                original_put(q, item, *args, **kwargs)
            except BaseException:  # queue.Full: nothing was handed over
                with lock:
                    steps = handed.get(id(item), [])
                    if steps:
                        steps.pop()
                    if not steps:
                        handed.pop(id(item), None)
                raise

        @functools.wraps(original_get)
        def get(q: queue.Queue[t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
            item = original_get(q, *args, **kwargs)
            handed = q.__dict__.get(_HANDOVER_ATTR)
            step = None
            if handed:
                # Taken off the record whoever takes it: a stale id would be
                # handed to the next object that reuses it.
                with lock:
                    steps = handed.get(id(item))
                    if steps:
                        step = steps.pop(0)
                        if not steps:
                            del handed[id(item)]
            if getattr(instr._local, "serving", 0):
                return item
            if step is not None:
                instr._step.set(step)
                instr._local.handed_over = True
            elif getattr(instr._local, "handed_over", False):
                instr._step.set(None)
                instr._local.handed_over = False
            return item

        self._patch(queue.Queue, "put", put)
        self._patch(queue.Queue, "get", get)

    def _patch_dotenv(self) -> None:
        """Keep every ``POSTHOG*`` variable as the harness set it, whatever a
        ``.env`` says: ``load_dotenv(override=True)`` would otherwise replace the
        injected token and host (or, in the boot without them, bring a key back).
        """
        if importlib.util.find_spec("dotenv") is None:
            return
        import dotenv
        import dotenv.main

        protected = {k: v for k, v in os.environ.items() if k.upper().startswith("POSTHOG")}
        original = dotenv.main.load_dotenv

        @functools.wraps(original)
        def load_dotenv(*args: t.Any, **kwargs: t.Any) -> bool:
            loaded = original(*args, **kwargs)
            for name in [k for k in os.environ if k.upper().startswith("POSTHOG")]:
                if name not in protected:
                    del os.environ[name]
            os.environ.update(protected)
            return loaded

        self._patch(dotenv.main, "load_dotenv", load_dotenv)
        self._patch(dotenv, "load_dotenv", load_dotenv)

    # -- clients -------------------------------------------------------------

    def client_id(self, client: t.Any) -> int | None:
        return getattr(client, _CLIENT_ID_ATTR, None)

    def _next_id(self) -> int:
        with self._ids_lock:
            self._ids += 1
            return self._ids - 1

    def _patch_client(self, client_cls: type[t.Any]) -> None:
        original_init = client_cls.__init__
        signature = inspect.signature(original_init)
        instr = self

        @functools.wraps(original_init)
        def __init__(client: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
            client_id = instr._next_id()
            setattr(client, _CLIENT_ID_ATTR, client_id)
            original_init(client, *args, **kwargs)
            try:
                bound = signature.bind_partial(client, *args, **kwargs).arguments
            except TypeError:
                bound = {"args": args, **kwargs}
            bound.pop("self", None)
            bound.update(bound.pop("kwargs", {}) or {})
            via = "module_default" if getattr(instr._local, "in_setup", False) else "instance"
            context = instr._context()
            if via == "module_default" and instr._module_key_site is not None:
                # Built lazily at the first module call; configured where the
                # app set posthog.api_key: that is the site worth quoting.
                context["first_use"] = context["location"]
                context["location"] = instr._module_key_site
            instr.emit(
                "client",
                client_id=client_id,
                api_key=getattr(client, "api_key", None),
                host=getattr(client, "host", None),
                kwargs=jsonable(bound),
                via=via,
                **context,
            )

        self._patch(client_cls, "__init__", __init__)
        for name in CLIENT_METHODS:
            if name in client_cls.__dict__:
                self._patch(client_cls, name, self._wrap_method(name, client_cls.__dict__[name]))
        for name in ("_submit_event", "_enqueue"):
            if name in client_cls.__dict__:
                self._patch(client_cls, name, self._wrap_enqueue(name, client_cls.__dict__[name]))
                break
        for name in ("shutdown", "flush"):
            if name in client_cls.__dict__:
                self._patch(client_cls, name, self._wrap_lifecycle(name, client_cls.__dict__[name]))

    def _wrap_lifecycle(self, name: str, original: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """``shutdown``/``flush`` run inside an atexit callable of the app's
        (:meth:`_exit_wrapper`): recorded as an ``atexit`` record of that client,
        ``observed`` (it ran at exit), once per callable and client."""
        instr = self

        @functools.wraps(original)
        def lifecycle(client: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            registration = getattr(instr._local, "at_exit", None)
            client_id = instr.client_id(client)
            if registration is not None and client_id not in registration["flushed"]:
                registration["flushed"].add(client_id)
                instr.emit(
                    "atexit",
                    qualname=f"{registration['qualname']} -> Client.{name}",
                    is_posthog=True,
                    client_id=client_id,
                    phase="exit",
                    location=registration["location"],
                    observed=True,
                )
            return original(client, *args, **kwargs)

        return lifecycle

    def _wrap_method(self, name: str, original: Callable[..., t.Any]) -> Callable[..., t.Any]:
        instr = self

        @functools.wraps(original)
        def method(client: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            return instr._record_call(
                name, "instance", lambda: instr.client_id(client), original, (client, *args), kwargs
            )

        return method

    def _record_call(
        self,
        name: str,
        via: str,
        client_of: Callable[[], int | None],
        original: Callable[..., t.Any],
        args: tuple[t.Any, ...],
        kwargs: dict[str, t.Any],
    ) -> t.Any:
        """Call ``original`` and record it, unless already inside a recorded call
        (``capture_exception`` calls ``capture``; ``posthog.capture`` calls the
        default client's)."""
        if getattr(self._local, "depth", 0):
            return original(*args, **kwargs)
        context = self._context()
        self._local.depth = 1
        result, raised = None, None
        try:
            result = original(*args, **kwargs)
            return result
        except BaseException as exc:
            raised = f"{type(exc).__name__}: {exc}"  # the app's call was wrong, not dropped
            raise
        finally:
            self._local.depth = 0
            shown = args[1:] if via == "instance" else args
            event = _CALL_EVENTS.get(name) or (shown[0] if name == "capture" and shown else None)
            self.emit(
                "call",
                method=name,
                via=via,
                client_id=client_of(),
                event=event if isinstance(event, str) else None,
                distinct_id=jsonable(kwargs.get("distinct_id")),
                uuid=result if isinstance(result, str) else None,
                args=jsonable({"args": list(shown), **kwargs}),
                raised=raised,
                **context,
            )

    def _wrap_enqueue(self, name: str, original: Callable[..., t.Any]) -> Callable[..., t.Any]:
        instr = self

        @functools.wraps(original)
        def enqueue(client: t.Any, msg: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            result = original(client, msg, *args, **kwargs)
            if isinstance(result, str) and isinstance(msg, dict):
                instr.emit(
                    "enqueue",
                    client_id=instr.client_id(client),
                    uuid=result,
                    event=msg.get("event"),
                    distinct_id=jsonable(msg.get("distinct_id")),
                    step=instr.step,
                    properties=jsonable(msg.get("properties") or {}),
                    pid=os.getpid(),
                )
            return result

        return enqueue

    # -- the module-level API ---------------------------------------------------

    def _default_client_id(self, posthog: t.Any) -> int | None:
        """The default client's id, None when it has no key (calls go nowhere)."""
        client = getattr(posthog, "default_client", None)
        if client is None or not getattr(client, "api_key", None):
            return None
        return self.client_id(client)

    def _patch_module(self, posthog: t.Any, client_cls: type) -> None:
        instr = self
        original_setup = posthog.__dict__["setup"]

        @functools.wraps(original_setup)
        def setup() -> t.Any:
            instr._local.in_setup = True
            try:
                return original_setup()
            finally:
                instr._local.in_setup = False

        self._patch(posthog, "setup", setup)
        self._watch_module_key(posthog)
        for name in MODULE_FUNCTIONS:
            if name in posthog.__dict__:
                self._patch(posthog, name, self._wrap_function(posthog, name))

    def _watch_module_key(self, posthog: types.ModuleType) -> None:
        """Record where the app's code sets ``posthog.api_key`` (or
        ``project_api_key``): the module default client is built lazily at the
        first module call, but configured there. A module's class may be
        swapped for a subclass of ``ModuleType``; undone by :meth:`uninstall`."""
        instr = self

        class _Watched(types.ModuleType):
            def __setattr__(self, name: str, value: t.Any) -> None:
                if name in ("api_key", "project_api_key") and value:
                    location = instr._locator.locate()
                    if location is not None:
                        instr._module_key_site = location
                super().__setattr__(name, value)

        if type(posthog) is types.ModuleType:
            self._patches.append((posthog, "__class__", types.ModuleType))
            posthog.__class__ = _Watched

    def _wrap_function(self, posthog: t.Any, name: str) -> Callable[..., t.Any]:
        original = posthog.__dict__[name]
        instr = self

        @functools.wraps(original)
        def function(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return instr._record_call(
                name, "module", lambda: instr._default_client_id(posthog), original, args, kwargs
            )

        return function

    # -- atexit ----------------------------------------------------------------

    def _patch_atexit(self) -> None:
        # Widened from the stub's ParamSpec generic, which functools.wraps cannot infer.
        original: Callable[..., t.Any] = atexit.register
        instr = self

        original_unregister = atexit.unregister
        wrappers: dict[int, list[Callable[..., t.Any]]] = {}

        @functools.wraps(original)
        def register(func: Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
            caller = sys._getframe(1).f_code.co_filename
            if instr._is_sdk_file(caller):  # the SDK's own _atexit is not the app's
                return original(func, *args, **kwargs)
            registration = instr._record_atexit(func)
            if registration is None:
                return original(func, *args, **kwargs)
            wrapper = instr._exit_wrapper(func, registration)
            wrappers.setdefault(id(func), []).append(wrapper)
            original(wrapper, *args, **kwargs)
            return func  # what atexit.register returns: usable as a decorator

        @functools.wraps(original_unregister)
        def unregister(func: Callable[..., t.Any]) -> None:
            for wrapper in wrappers.pop(id(func), []):
                original_unregister(wrapper)
            original_unregister(func)

        self._patch(atexit, "register", register)
        self._patch(atexit, "unregister", unregister)

    def _exit_wrapper(
        self, func: Callable[..., t.Any], registration: dict[str, t.Any]
    ) -> Callable[..., t.Any]:
        """``func`` as registered, run with ``registration`` marked on the
        thread: a client's shutdown/flush it reaches, however indirectly, is
        recorded (:meth:`_wrap_lifecycle`)."""
        instr = self

        def at_exit(*args: t.Any, **kwargs: t.Any) -> t.Any:
            outer = getattr(instr._local, "at_exit", None)
            instr._local.at_exit = registration
            try:
                return func(*args, **kwargs)
            finally:
                instr._local.at_exit = outer

        return at_exit

    def _is_sdk_file(self, filename: str) -> bool:
        posthog = sys.modules.get("posthog")
        package = Path(getattr(posthog, "__file__", None) or "/nonexistent").parent
        return filename.startswith(f"{package}{os.sep}")

    def _record_atexit(self, func: Callable[..., t.Any]) -> dict[str, t.Any] | None:
        """Record the registration; for the app's own callable (not a PostHog
        shutdown/flush itself) return what its run at exit is recorded under."""
        target = func.func if isinstance(func, functools.partial) else func
        is_posthog, client_id = self._posthog_callable(target)
        context = self._context()
        if not is_posthog and context["location"] is None:
            return None  # a library's own registration, not the app's
        qualname = getattr(target, "__qualname__", repr(target))
        self.emit(
            "atexit",
            qualname=qualname,
            is_posthog=is_posthog,
            client_id=client_id,
            phase=context["phase"],
            location=context["location"],
        )
        if is_posthog:
            return None
        return {"qualname": qualname, "location": context["location"], "flushed": set()}

    def _posthog_callable(self, target: t.Any) -> tuple[bool, int | None]:
        owner = getattr(target, "__self__", None)
        if owner is not None and hasattr(owner, _CLIENT_ID_ATTR):
            return target.__name__ in _POSTHOG_LIFECYCLE, self.client_id(owner)
        posthog = sys.modules.get("posthog")
        if posthog is None or getattr(target, "__module__", None) != "posthog":
            return False, None
        if getattr(target, "__name__", "") not in _POSTHOG_LIFECYCLE:
            return False, None
        client = getattr(posthog, "default_client", None)
        return True, None if client is None else self.client_id(client)


def _propagation(app: t.Any) -> str | None:
    """Why Flask re-raises a view's exception instead of handling it, as Flask
    decides (``Flask.handle_exception``): ``PROPAGATE_EXCEPTIONS``, or when it
    is None, ``app.testing or app.debug``. None when it handles it."""
    config = getattr(app, "config", {})
    propagate = config.get("PROPAGATE_EXCEPTIONS")
    if propagate is not None:
        return "PROPAGATE_EXCEPTIONS is True" if propagate else None
    if getattr(app, "debug", False):
        return "app.debug is True (DEBUG)"
    if getattr(app, "testing", False):
        return "app.testing is True (TESTING)"
    return None


def _import_or_none(name: str) -> t.Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
