"""Drive one corpus app in this process and record what really reached the wire.

This is the ground truth the harness is measured against, so it shares nothing
with the harness: it imports the app in isolation (the apps share the module
name ``app``), intercepts HTTP with ``responses``, decodes ``/batch/`` itself,
and attributes each event to the scenario step that enqueued it::

    with drive_app(TARGET_APPS / "reference", tmp_path) as seen:
        assert seen.named("user_signed_up")[0]["distinct_id"] == seen.user_ids()[0]
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import gzip
import importlib
import json
import os
import re
import sys
import threading
import tomllib
import typing as t
from pathlib import Path

import posthog
import responses
from posthog.client import Client

TARGET_APPS = Path(__file__).resolve().parents[2] / "target_apps"
TOKEN = "phc_ground_truth_token_4d1c"
HOST = "http://posthog.invalid.test"
ANON_ID = "anon-ground-truth-0b7e"
SESSION_ID = "session-ground-truth-51a9"
CANARIES = {
    "email": "gt.canary.51a9@example.org",
    "name": "Grace Canaryname",
    "phone": "+1 555 0100 7788",
    "address": "42 Canary Wharf Lane",
    "text": "canary note text 9c1e",
    "ip": "198.51.100.23",
    "password": "canary-pass-2b8d-long",
    "username": "gracecanary51a9",
    "client address": "198.51.100.61",
}
# Module-level SDK settings an app may change; restored after every drive.
_MODULE_SETTINGS = ("api_key", "host", "enable_exception_autocapture", "disabled", "default_client")


@dataclasses.dataclass
class Routes:
    """Where the scenario's steps go, and the form field names (conventional by default)."""

    module: str = "app:create_app"
    signup: str = "/signup"
    login: str = "/login"
    logout: str = "/logout"
    logout_method: str = "GET"
    signup_fields: dict[str, str] = dataclasses.field(
        default_factory=lambda: {
            k: k for k in ("email", "name", "phone", "address", "password", "username")
        }
    )
    login_fields: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"email": "email", "password": "password"}
    )

    @classmethod
    def for_app(cls, root: Path) -> Routes:
        """Read the app's ``posthog-verify.toml`` when it has one; what it does
        not name (a manifest holding only a tracking plan) stays conventional."""
        manifest = root / "posthog-verify.toml"
        if not manifest.exists():
            return cls()
        data = tomllib.loads(manifest.read_text())
        default = cls()

        def fields(section: str, conventional: dict[str, str]) -> dict[str, str]:
            # {"user_email": "{canary.email}"} -> {"email": "user_email"}
            raw = data.get(section, {}).get("fields")
            if raw is None:
                return conventional
            return {v.removeprefix("{canary.").removesuffix("}"): k for k, v in raw.items()}

        def path(section: str, conventional: str) -> str:
            return str(data.get(section, {}).get("path", conventional))

        return cls(
            module=data.get("app", default.module),
            signup=path("signup", default.signup),
            login=path("login", default.login),
            logout=path("logout", default.logout),
            logout_method=data.get("logout", {}).get("method", default.logout_method),
            signup_fields=fields("signup", default.signup_fields),
            login_fields=fields("login", default.login_fields),
        )


@dataclasses.dataclass
class Seen:
    """What one drive observed. ``events`` are decoded wire events, each with
    ``_step`` (the step that enqueued it, or None) and ``_url``."""

    events: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    urls: list[str] = dataclasses.field(default_factory=list)
    clients: list[Client] = dataclasses.field(default_factory=list)
    client_steps: list[str | None] = dataclasses.field(default_factory=list)
    atexit_calls: list[t.Callable[..., t.Any]] = dataclasses.field(default_factory=list)
    enqueued: dict[str, str | None] = dataclasses.field(default_factory=dict)
    enqueued_by: dict[str, Client] = dataclasses.field(default_factory=dict)
    delivered_before_stop: set[str] = dataclasses.field(default_factory=set)
    default_client: Client | None = None
    module_calls: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    flag_ids: list[str] = dataclasses.field(default_factory=list)
    status: dict[str, int] = dataclasses.field(default_factory=dict)
    step: str | None = None

    def named(self, name: str) -> list[dict[str, t.Any]]:
        return [e for e in self.events if e["event"] == name]

    def in_step(self, *steps: str) -> list[dict[str, t.Any]]:
        return [e for e in self.events if e["_step"] in steps]

    def keyed_clients(self) -> list[Client]:
        return [c for c in self.clients if c.api_key and not c.disabled]

    def person_updates(self, step: str) -> list[dict[str, t.Any]]:
        """Events of ``step`` that set person properties (``$set`` anywhere)."""
        return [
            e for e in self.in_step(step) if e.get("$set") or e.get("properties", {}).get("$set")
        ]


def decode_batch(body: bytes | str | None, headers: t.Mapping[str, str]) -> list[dict[str, t.Any]]:
    """The events of one ``/batch/`` body (JSON, optionally gzipped)."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    data = json.loads(raw)
    return [{**event, "_api_key": data.get("api_key")} for event in data.get("batch", [])]


@contextlib.contextmanager
def isolated_import(root: Path, module: str) -> t.Iterator[t.Any]:
    """Import ``module`` from ``root`` alone, and forget it afterwards."""
    package = module.split(".")[0]

    def purge() -> None:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]

    saved_path, saved_cwd = list(sys.path), Path.cwd()
    purge()
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(module)
    finally:
        purge()
        sys.path[:] = saved_path
        os.chdir(saved_cwd)


@contextlib.contextmanager
def sdk_sandbox(seen: Seen) -> t.Iterator[None]:
    """Record clients, enqueues, module calls and atexit registrations; restore all after."""
    saved = {name: getattr(posthog, name) for name in _MODULE_SETTINGS}
    saved_hooks = (sys.excepthook, threading.excepthook)
    posthog.default_client = None
    real_init, real_enqueue, real_capture = Client.__init__, Client._enqueue, posthog.capture

    def init(self: Client, *args: t.Any, **kwargs: t.Any) -> None:
        real_init(self, *args, **kwargs)
        seen.clients.append(self)
        seen.client_steps.append(seen.step)

    def enqueue(self: Client, msg: t.Any, *args: t.Any, **kwargs: t.Any) -> str | None:
        uuid = real_enqueue(self, msg, *args, **kwargs)
        if uuid:
            seen.enqueued[uuid] = seen.step
            seen.enqueued_by[uuid] = self
        return uuid

    def module_capture(event: str, **kwargs: t.Any) -> str | None:
        uuid = real_capture(event, **kwargs)
        seen.module_calls.append((event, uuid))
        return uuid

    patches = {"__init__": init, "_enqueue": enqueue}
    for name, fn in patches.items():
        setattr(Client, name, fn)
    posthog.capture = module_capture
    real_register = atexit.register
    atexit.register = lambda fn, *a, **k: seen.atexit_calls.append(fn) or fn
    try:
        yield
    finally:
        atexit.register = real_register
        Client.__init__, Client._enqueue, posthog.capture = real_init, real_enqueue, real_capture
        for name, value in saved.items():
            setattr(posthog, name, value)
        sys.excepthook, threading.excepthook = saved_hooks


def _intercept(seen: Seen, rsps: responses.RequestsMock) -> None:
    def callback(request: t.Any) -> tuple[int, dict[str, str], str]:
        seen.urls.append(request.url)
        if "/batch" in request.url:
            for event in decode_batch(request.body, request.headers):
                event["_url"] = request.url
                seen.events.append(event)
        elif "/flags" in request.url and request.body:
            raw = request.body if isinstance(request.body, bytes) else request.body.encode()
            if request.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            seen.flag_ids.append(str(json.loads(raw).get("distinct_id")))
        return 200, {}, "{}"

    for method in (responses.GET, responses.POST):
        rsps.add_callback(method, re.compile(r"https?://.*"), callback=callback)


def finish(seen: Seen) -> None:
    """Flush every client the app built, then attribute wire events to steps."""
    seen.delivered_before_stop = {e.get("uuid", "") for e in seen.events}
    seen.default_client = posthog.default_client
    for client in [*seen.clients]:
        with contextlib.suppress(Exception):
            client.shutdown()
    for event in seen.events:
        event["_step"] = seen.enqueued.get(event.get("uuid", ""))


@contextlib.contextmanager
def booted(root: Path, tmp_path: Path, env: dict[str, str] | None = None) -> t.Iterator[t.Any]:
    """Yield ``(app, seen)`` for the app at ``root``, PostHog env set, HTTP intercepted."""
    routes = Routes.for_app(root)
    module, factory = routes.module.split(":")
    seen = Seen()
    env = {"POSTHOG_PROJECT_TOKEN": TOKEN, "POSTHOG_HOST": HOST} if env is None else env
    saved_env = dict(os.environ)
    for name in [n for n in os.environ if "POSTHOG" in n]:
        del os.environ[name]
    os.environ.update(env)
    try:
        with (
            sdk_sandbox(seen),
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        ):
            _intercept(seen, rsps)
            try:
                with isolated_import(root, module) as mod:
                    app = getattr(mod, factory)({"DATABASE": str(tmp_path / "gt.sqlite")})
                    yield app, seen
            finally:
                finish(seen)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def _send(seen: Seen, step: str, client: t.Any, method: str, path: str, **kw: t.Any) -> t.Any:
    seen.step = step
    # The address the app sees the user come from is a canary too.
    environ = {"REMOTE_ADDR": CANARIES["client address"]}
    response = client.open(path, method=method, environ_base=environ, **kw)
    seen.status[step] = response.status_code
    seen.step = None
    return response


def run_scenario(app: t.Any, seen: Seen, routes: Routes) -> None:
    """The docs/checks.md scenario, through Flask's test client (not testing mode,
    so error handlers run as in production)."""
    anon = {"X-POSTHOG-DISTINCT-ID": ANON_ID, "X-POSTHOG-SESSION-ID": SESSION_ID}
    user_headers = {"X-POSTHOG-SESSION-ID": SESSION_ID}
    browser, stranger = app.test_client(), app.test_client()
    xff = {**anon, "X-Forwarded-For": CANARIES["ip"]}
    _send(seen, "anon_browse", stranger, "GET", "/", headers=xff)
    signup = {field: CANARIES[kind] for kind, field in routes.signup_fields.items()}
    login = {field: CANARIES[kind] for kind, field in routes.login_fields.items()}
    _send(seen, "signup_form", browser, "GET", routes.signup, headers=anon)
    _send(seen, "signup", browser, "POST", routes.signup, headers=anon, data=signup)
    _send(seen, "dashboard", browser, "GET", "/dashboard", headers=user_headers)
    note = {"text": CANARIES["text"]}
    _send(seen, "api_action", browser, "POST", "/api/notes", headers=user_headers, json=note)
    _send(seen, "logout", browser, routes.logout_method, routes.logout, headers=user_headers)
    _send(seen, "login_form", browser, "GET", routes.login, headers=anon)
    _send(seen, "login", browser, "POST", routes.login, headers=anon, data=login)
    _send(seen, "dashboard_again", browser, "GET", "/dashboard", headers=user_headers)
    _send(seen, "probe", stranger, "GET", "/boom", headers=anon)
    _send(seen, "logout_final", browser, routes.logout_method, routes.logout, headers=user_headers)
    _send(seen, "anon_after_logout", browser, "GET", "/", headers=anon)


@contextlib.contextmanager
def drive_app(root: Path, tmp_path: Path) -> t.Iterator[Seen]:
    """Boot the app at ``root``, run the scenario, flush, and yield what was seen."""
    with booted(root, tmp_path) as (app, seen):
        run_scenario(app, seen, Routes.for_app(root))
    yield seen
