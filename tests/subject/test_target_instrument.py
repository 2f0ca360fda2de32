"""The instrumentation in this interpreter: records, patches undone, network guard."""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import importlib.util
import queue
import socket
import threading
import typing as t
from pathlib import Path

import flask
import posthog
import pytest
import requests
from posthog.client import Client
from requests.adapters import HTTPAdapter

from harness.capture import CaptureServer
from harness.subject.instrument import Instrumentation
from harness.subject.instrument import ListSink
from harness.subject.outbound import NetworkGuard
from harness.subject.outbound import is_loopback
from harness.subject.outbound import is_posthog_shaped

APP_SOURCE = """\
import atexit

from posthog import Posthog


def register(handler):
    atexit.register(handler)


def build():
    return Posthog("phc_unit", host="http://127.0.0.1:9", send=False,
                   enable_exception_autocapture=True)


def hand_over(q, item):
    q.put(item)


def closer(client):
    def close():
        client.flush()
        client.shutdown()
    return close


def configure_module(posthog):
    posthog.api_key = "phc_module"
"""


@pytest.fixture
def recorded(tmp_path: Path) -> t.Iterator[tuple[Instrumentation, ListSink, t.Any]]:
    """Instrumentation installed, with a module in ``tmp_path`` as "the app"."""
    (tmp_path / "unit_app.py").write_text(APP_SOURCE)
    spec = importlib.util.spec_from_file_location("unit_app", tmp_path / "unit_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sink = ListSink()
    instrumentation = Instrumentation(tmp_path, sink)
    saved = (posthog.default_client, posthog.api_key, posthog.send, posthog.host)
    posthog.send, posthog.host = False, "http://127.0.0.1:9"  # nothing leaves, ever
    instrumentation.install()
    try:
        yield instrumentation, sink, module
    finally:
        instrumentation.uninstall()
        posthog.default_client, posthog.api_key, posthog.send, posthog.host = saved


def of_type(sink: ListSink, kind: str) -> list[dict[str, t.Any]]:
    return [r for r in sink.records if r["type"] == kind]


def test_uninstall_restores_every_patch() -> None:
    originals = (Client.__init__, Client.capture, posthog.capture, posthog.setup, atexit.register)
    network = (HTTPAdapter.send, socket.socket.connect, socket.create_connection)
    instrumentation = Instrumentation(Path.cwd(), ListSink(), mock_url="http://127.0.0.1:9")
    instrumentation.install()
    assert Client.__init__ is not originals[0]
    assert HTTPAdapter.send is not network[0]
    instrumentation.uninstall()
    assert (Client.__init__, Client.capture, posthog.capture, posthog.setup) == originals[:4]
    assert atexit.register is originals[4]
    assert (HTTPAdapter.send, socket.socket.connect, socket.create_connection) == network


def test_client_construction_is_recorded_with_kwargs_and_app_location(recorded: t.Any) -> None:
    _, sink, module = recorded
    module.build()
    (client,) = of_type(sink, "client")
    assert client["via"] == "instance"
    assert client["api_key"] == "phc_unit"
    assert client["kwargs"]["enable_exception_autocapture"] is True
    assert client["phase"] == "boot"
    assert client["location"]["file"] == "unit_app.py"
    assert client["location"]["line"] == 11


def test_module_default_client_and_module_calls(recorded: t.Any) -> None:
    _, sink, _ = recorded
    posthog.api_key = "phc_module"
    uuid = posthog.capture("module_event", distinct_id="d1")
    (client,) = of_type(sink, "client")
    assert (client["via"], client["api_key"]) == ("module_default", "phc_module")
    (call,) = of_type(sink, "call")  # the default client's own capture is not counted again
    assert (call["via"], call["client_id"], call["uuid"]) == ("module", client["client_id"], uuid)
    posthog.default_client.shutdown()


def test_a_lazy_module_default_client_is_quoted_where_the_app_set_its_key(
    recorded: t.Any,
) -> None:
    _, sink, module = recorded
    module.configure_module(posthog)  # the app's config site: unit_app.py
    posthog.capture("module_event", distinct_id="d1")  # first use, outside the app
    (client,) = of_type(sink, "client")
    assert client["via"] == "module_default"
    assert (client["location"]["file"], client["location"]["line"]) == ("unit_app.py", 27)
    assert client["location"]["text"] == 'posthog.api_key = "phc_module"'
    assert client["first_use"] is None  # the test module is not the app
    posthog.default_client.shutdown()


def test_capture_exception_is_one_call_and_one_enqueued_message(recorded: t.Any) -> None:
    instrumentation, sink, module = recorded
    client = module.build()
    try:
        raise KeyError("k")
    except KeyError as exc:
        uuid = client.capture_exception(exc, distinct_id="d2")
    (call,) = of_type(sink, "call")
    assert (call["method"], call["event"], call["uuid"]) == (
        "capture_exception",
        "$exception",
        uuid,
    )
    (message,) = of_type(sink, "enqueue")
    assert (message["uuid"], message["event"], message["distinct_id"]) == (uuid, "$exception", "d2")
    assert instrumentation.client_id(client) == call["client_id"] == message["client_id"]


def test_atexit_registrations_recognise_posthog_lifecycle(recorded: t.Any) -> None:
    instrumentation, sink, module = recorded
    client = module.build()

    def close_db() -> None:
        pass

    handlers = [client.shutdown, posthog.shutdown, close_db]
    for handler in handlers:
        module.register(handler)  # from the app's own code
    atexit.register(close_db)  # from outside the app folder: a library's, not the app's
    for handler in handlers:
        atexit.unregister(handler)
    seen = [(r["qualname"], r["is_posthog"], r["client_id"]) for r in of_type(sink, "atexit")]
    assert seen == [
        ("Client.shutdown", True, instrumentation.client_id(client)),
        ("shutdown", True, None),  # the module's default client does not exist yet
        (close_db.__qualname__, False, None),
    ]
    assert {r["location"]["file"] for r in of_type(sink, "atexit")} == {"unit_app.py"}


def test_wsgi_middleware_reads_and_removes_the_step_header(recorded: t.Any) -> None:
    instrumentation, _, _ = recorded
    seen: dict[str, t.Any] = {}

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.update(step=instrumentation.step, phase=instrumentation.phase, environ=dict(environ))
        return [b""]

    assert instrumentation.phase == "boot"
    instrumentation.wrap_wsgi(app)({"HTTP_X_POSTHOG_VERIFY_STEP": "4"}, None)
    assert (seen["step"], seen["phase"]) == (4, "request")
    assert "HTTP_X_POSTHOG_VERIFY_STEP" not in seen["environ"]
    assert instrumentation.step is None  # reset after the request


def _serve_step(instrumentation: Instrumentation, step: int, work: t.Callable[[], None]) -> None:
    """Run ``work`` as the request of scenario step ``step`` would."""

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        work()
        return [b""]

    instrumentation.wrap_wsgi(app)({"HTTP_X_POSTHOG_VERIFY_STEP": str(step)}, None)


def test_a_worker_thread_works_for_the_step_that_handed_it_an_item(recorded: t.Any) -> None:
    instrumentation, sink, module = recorded
    client = module.build()
    items: queue.Queue[t.Any] = queue.Queue()
    done = threading.Event()

    def worker() -> None:  # started at boot: no step of its own
        while (item := items.get()) is not None:
            client.capture(item, distinct_id="d")
        client.capture("after_the_sentinel", distinct_id="d")
        done.set()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    _serve_step(instrumentation, 3, lambda: module.hand_over(items, "from_step_3"))
    _serve_step(instrumentation, 5, lambda: module.hand_over(items, "from_step_5"))
    _serve_step(instrumentation, 6, lambda: items.put("put_outside_the_app"))
    items.put(None)  # at boot, by no request
    assert done.wait(10)
    thread.join(10)
    steps = {r["event"]: r["step"] for r in of_type(sink, "call")}
    assert steps == {
        "from_step_3": 3,
        "from_step_5": 5,
        "put_outside_the_app": None,  # not the app's own code: no hand-over
        "after_the_sentinel": None,  # an untagged item ends the hand-over
    }
    assert {r["step"] for r in of_type(sink, "enqueue")} == {3, 5, None}


def test_pool_work_is_the_step_that_submitted_it_not_the_one_that_started_the_pool(
    recorded: t.Any,
) -> None:
    instrumentation, sink, module = recorded
    client = module.build()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:

        def submit(event: str) -> None:
            pool.submit(client.capture, event, distinct_id="d").result(10)

        _serve_step(instrumentation, 0, lambda: submit("starts_the_pool"))
        _serve_step(instrumentation, 3, lambda: submit("from_step_3"))
        submit("at_boot")  # by no request
    steps = {r["event"]: r["step"] for r in of_type(sink, "call")}
    assert steps == {"starts_the_pool": 0, "from_step_3": 3, "at_boot": None}


def test_a_thread_started_in_a_request_gets_its_step_but_not_its_context(
    recorded: t.Any,
) -> None:
    """Threads do not inherit context variables: PostHog's new_context() of the
    request must not follow the thread under the harness when it would not in
    production (an event sent from a thread is then personless)."""
    instrumentation, sink, module = recorded
    client = module.build()

    def request() -> None:
        with posthog.new_context(client=client):
            posthog.identify_context("user-of-the-request")
            thread = threading.Thread(target=lambda: client.capture("from_a_thread"))
            thread.start()
            thread.join(10)

    _serve_step(instrumentation, 4, request)
    (enqueued,) = of_type(sink, "enqueue")
    assert (enqueued["event"], enqueued["step"]) == ("from_a_thread", 4)
    assert enqueued["distinct_id"] != "user-of-the-request"


def test_a_request_thread_keeps_its_step_whatever_it_takes(recorded: t.Any) -> None:
    instrumentation, sink, module = recorded
    client = module.build()
    items: queue.Queue[t.Any] = queue.Queue()
    _serve_step(instrumentation, 2, lambda: module.hand_over(items, "handed"))

    def take_and_capture() -> None:
        client.capture(items.get(), distinct_id="d")

    _serve_step(instrumentation, 7, take_and_capture)
    (call,) = of_type(sink, "call")
    assert (call["event"], call["step"]) == ("handed", 7)


def test_an_item_a_request_took_hands_nothing_over_when_put_again(recorded: t.Any) -> None:
    """The record of a hand-over ends when the item is taken, by whomever: the
    same object (or one reusing its id) put again by no request is no step's."""
    instrumentation, sink, module = recorded
    client = module.build()
    items: queue.Queue[t.Any] = queue.Queue()
    again = "handed"  # one interned object, put twice
    _serve_step(instrumentation, 2, lambda: module.hand_over(items, again))
    _serve_step(instrumentation, 7, lambda: items.get())
    items.put(again)  # at boot, by no request

    def worker() -> None:
        client.capture(items.get(), distinct_id="d")

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(10)
    (call,) = of_type(sink, "call")
    assert (call["event"], call["step"]) == ("handed", None)


def test_a_flush_inside_an_apps_atexit_callable_is_observed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[t.Callable[[], t.Any]] = []
    monkeypatch.setattr(atexit, "register", lambda f, *a, **k: registered.append(f) or f)

    def unregister(func: t.Callable[[], t.Any]) -> None:  # as atexit's: never raises
        registered[:] = [f for f in registered if f != func]

    monkeypatch.setattr(atexit, "unregister", unregister)
    (tmp_path / "unit_app.py").write_text(APP_SOURCE)
    spec = importlib.util.spec_from_file_location("unit_app", tmp_path / "unit_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sink = ListSink()
    instrumentation = Instrumentation(tmp_path, sink)
    instrumentation.install()
    try:
        keyed, other = module.build(), module.build()
        dropped = module.closer(other)
        module.register(module.closer(keyed))
        module.register(dropped)
        atexit.unregister(dropped)  # the app's unregister finds the wrapper it registered
        assert len(registered) == 1
        keyed.flush()  # outside any atexit callable: not an exit flush
        registered[0]()  # what the interpreter does at exit
    finally:
        instrumentation.uninstall()
    ran = [r for r in of_type(sink, "atexit") if r.get("observed")]
    assert [(r["qualname"], r["client_id"], r["phase"]) for r in ran] == [
        ("closer.<locals>.close -> Client.flush", instrumentation.client_id(keyed), "exit")
    ]  # once per callable and client: shutdown after flush adds nothing
    assert ran[0]["location"]["file"] == "unit_app.py"
    assert ran[0]["is_posthog"] is True


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        pytest.param({"DEBUG": True}, "app.debug is True (DEBUG)", id="debug"),
        pytest.param({"TESTING": True}, "app.testing is True (TESTING)", id="testing"),
        pytest.param({"DEBUG": True, "PROPAGATE_EXCEPTIONS": False}, None, id="debug-but-handled"),
        pytest.param({"PROPAGATE_EXCEPTIONS": True}, "PROPAGATE_EXCEPTIONS is True", id="set"),
        pytest.param({}, None, id="production"),
    ],
)
def test_a_view_exception_flask_re_raises_is_recorded_with_why(
    recorded: t.Any, config: dict[str, t.Any], reason: str | None
) -> None:
    instrumentation, sink, _ = recorded
    app = flask.Flask("propagation")
    app.config.update(config)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    instrumentation.watch_errors(app)
    with contextlib.suppress(RuntimeError):
        instrumentation.wrap_wsgi(app.wsgi_app)(
            {**_environ("/boom"), "HTTP_X_POSTHOG_VERIFY_STEP": "6"}, lambda *a: None
        )
    seen = [(r["step"], r["reason"]) for r in of_type(sink, "propagated")]
    assert seen == ([] if reason is None else [(6, reason)])
    assert [r["step"] for r in of_type(sink, "request_error")] == [6]


def _environ(path: str) -> dict[str, t.Any]:
    from werkzeug.test import EnvironBuilder

    return dict(EnvironBuilder(path=path).get_environ())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://us.i.posthog.com/anything", True, id="posthog-host"),
        pytest.param("https://proxy.example.org/batch/", True, id="batch-path"),
        pytest.param("https://proxy.example.org/i/v0/e/", True, id="v0-path"),
        pytest.param("https://proxy.example.org/flags/?v=2", True, id="flags"),
        pytest.param("https://example.com/", False, id="other"),
        pytest.param("https://example.com/batches", False, id="lookalike-path"),
        pytest.param("https://notposthog.com/x", False, id="lookalike-host"),
    ],
)
def test_posthog_shaped(url: str, expected: bool) -> None:
    assert is_posthog_shaped(url) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (("127.0.0.1", 80), True),
        (("::1", 80, 0, 0), True),
        (("localhost", 80), True),
        ("/tmp/sock", True),
        (("203.0.113.9", 80), False),
        (("example.com", 80), False),
    ],
)
def test_is_loopback(address: t.Any, expected: bool) -> None:
    assert is_loopback(address) is expected


def test_network_guard_redirects_posthog_and_refuses_the_rest() -> None:
    records: list[tuple[str, dict[str, t.Any]]] = []
    with CaptureServer() as mock:
        guard = NetworkGuard(mock.url, lambda kind, **fields: records.append((kind, fields)))
        guard.install()
        try:
            response = requests.post("https://eu.i.posthog.com/flags/?v=2", json={}, timeout=3)
            with pytest.raises(requests.ConnectionError, match="refused an outbound request"):
                requests.get("https://example.com/", timeout=3)
            with pytest.raises(ConnectionRefusedError, match="non-loopback"):
                socket.create_connection(("203.0.113.9", 80), timeout=1)
            with socket.socket() as raw, pytest.raises(ConnectionRefusedError):
                raw.connect(("203.0.113.9", 80))
        finally:
            guard.uninstall()
        assert response.status_code == 200
        (flags,) = mock.store.requests()
        assert (flags.path, flags.original_host) == ("/flags/", "eu.i.posthog.com")
    actions = [(fields["action"], fields["via"]) for kind, fields in records if kind == "outbound"]
    assert actions == [
        ("redirected", "requests"),
        ("refused", "requests"),
        ("refused", "socket"),
        ("refused", "socket"),
    ]
    attempts = [
        (f["host"], f["port"], f["protocol"], f["outcome"], f["via"])
        for kind, f in records
        if kind == "connection"
    ]
    assert attempts == [
        ("eu.i.posthog.com", 443, "https", "mock", "requests"),
        ("example.com", 443, "https", "refused", "requests"),
        ("203.0.113.9", 80, "tcp", "refused", "socket"),
        ("203.0.113.9", 80, "tcp", "refused", "socket"),
    ]
