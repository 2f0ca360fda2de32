"""The real posthog SDK sends through both front ends, in every wire format.

Each test flushes the client explicitly (``flush()``/``shutdown()``) instead of
waiting out the SDK's 5 s interval.
"""

from __future__ import annotations

import threading
import typing as t

import pytest
from posthog import Posthog

from harness.capture import CaptureStore
from harness.capture import RequestKind

KEY = "phc_capture_test_key"

# (id, Posthog kwargs): every body the Python SDK can send.
MODES = [
    ("batch", {}),
    ("batch-gzip", {"gzip": True}),
    ("v1", {"capture_mode": "v1"}),
    ("v1-gzip", {"capture_mode": "v1", "capture_compression": "gzip"}),
    ("v1-deflate", {"capture_mode": "v1", "capture_compression": "deflate"}),
]
# Differ between two runs of the same calls, whatever the wire.
VOLATILE = {"$lib_version"}


def _client(host: str, **kwargs: t.Any) -> Posthog:
    return Posthog(KEY, host=host, enable_exception_autocapture=False, **kwargs)


def _every_call(client: Posthog) -> dict[str, str | None]:
    """One of each event-producing call; returns their uuids by name."""
    uuids = {
        "capture": client.capture(
            "signed_up", distinct_id="u1", properties={"plan": "pro", "$set": {"a": 1}}
        ),
        "set": client.set(distinct_id="u1", properties={"email": "a@x.io"}),
        "set_once": client.set_once(distinct_id="u1", properties={"first": "yes"}),
        "alias": client.alias("u1-alias", "u1"),
        "group": client.group_identify("company", "c1", {"name": "Acme"}),
    }
    try:
        raise ValueError("probe")  # a real traceback for capture_exception
    except ValueError as exc:
        uuids["exception"] = client.capture_exception(exc, distinct_id="u1")
    return uuids


def _substance(store: CaptureStore) -> list[tuple[t.Any, ...]]:
    """What must not depend on the front end or the wire."""
    out = []
    for e in store.events(unique=True):
        props = {k: v for k, v in e.properties.items() if k not in VOLATILE}
        # group_identify sends a fresh random distinct id each call
        distinct = None if e.event == "$groupidentify" else e.distinct_id
        out.append((e.event, distinct, props, e.set, e.set_once, e.api_key))
    return sorted(out, key=repr)


def _send_all(host: str, **kwargs: t.Any) -> dict[str, str | None]:
    client = _client(host, **kwargs)
    try:
        return _every_call(client)
    finally:
        client.shutdown()


@pytest.fixture(scope="module")
def reference() -> list[tuple[t.Any, ...]]:
    """The /batch/ records of the calls, through the in-process front end."""
    from harness.capture import intercept

    with intercept() as mock:
        _send_all("https://us.i.posthog.com")
        return _substance(mock.store)


@pytest.mark.parametrize(("mode", "kwargs"), MODES, ids=[m[0] for m in MODES])
def test_every_call_arrives_identical_in_substance(
    frontend: t.Any, mode: str, kwargs: dict[str, t.Any], reference: list[tuple[t.Any, ...]]
) -> None:
    uuids = _send_all(frontend.host, **kwargs)
    store = frontend.store
    captures = store.requests(RequestKind.CAPTURE)
    assert captures, store.requests()
    assert all(r.acknowledged for r in captures)
    assert {e.uuid for e in store.events()} == set(uuids.values())
    assert _substance(store) == reference
    by_name = {e.event: e for e in store.events()}
    assert by_name["$set"].set == {"email": "a@x.io"}
    assert by_name["$set_once"].set_once == {"first": "yes"}
    assert by_name["signed_up"].set == {"a": 1}
    assert "$set" not in by_name["signed_up"].properties
    assert by_name["$exception"].properties["$exception_list"][0]["type"] == "ValueError"
    expected_path = "/i/v1/analytics/events" if mode.startswith("v1") else "/batch/"
    assert {r.path for r in captures} == {expected_path}


def test_gzip_body_is_kept_raw_as_evidence(frontend: t.Any) -> None:
    _send_all(frontend.host, gzip=True)
    (request,) = frontend.store.requests(RequestKind.CAPTURE)
    assert request.body[:2] == b"\x1f\x8b"
    assert request.headers["Content-Encoding"] == "gzip"


@pytest.mark.filterwarnings(
    # the SDK deprecates these in favour of evaluate_flags; apps still call them
    "ignore:`get_feature_flag` is deprecated:DeprecationWarning",
    "ignore:`feature_enabled` is deprecated:DeprecationWarning",
)
def test_flags_answer_is_accepted_without_retry(frontend: t.Any) -> None:
    client = _client(frontend.host)
    try:
        assert client.get_feature_flag("beta", "u1") is None
        assert not client.feature_enabled("beta", "u1")
        flags = client.evaluate_flags("u1")
        assert not flags.is_enabled("beta")
    finally:
        client.shutdown()
    flag_requests = frontend.store.requests(RequestKind.FLAGS)
    assert len(flag_requests) == 3  # one per call: none retried
    assert all(r.path == "/flags/" and r.status == 200 for r in flag_requests)


def test_local_evaluation_definitions_are_accepted(frontend: t.Any) -> None:
    errors: list[t.Any] = []
    client = _client(
        frontend.host,
        secret_key="phx_personal",
        on_error=lambda e, _batch: errors.append(e),
    )
    try:
        client.load_feature_flags()
        assert client.feature_flags == []
    finally:
        client.shutdown()
    paths = [r.path for r in frontend.store.requests(RequestKind.FLAGS)]
    assert "/flags/definitions" in paths
    assert errors == []


def test_first_batch_500_is_retried_and_arrives_once(frontend: t.Any) -> None:
    store = frontend.store
    store.faults.fail_next(status=500)
    client = _client(frontend.host)
    uuid = client.capture("ev", distinct_id="u1")
    client.flush()  # returns when the queue is done: after the ~1 s backoff retry
    waited = store.wait_for(lambda s: len(s.events(acknowledged_only=True)) == 1, timeout=5)
    client.shutdown()
    assert waited.result, store.requests()
    first, second = store.requests(RequestKind.CAPTURE)
    assert (first.status, second.status) == (500, 200)
    assert [e.uuid for e in store.events(acknowledged_only=True)] == [uuid]
    assert [(e.uuid, e.acknowledged) for e in store.events()] == [(uuid, False), (uuid, True)]
    assert len(store.events(unique=True)) == 1


def test_ten_thousand_events_from_four_threads(frontend: t.Any) -> None:
    client = _client(frontend.host, flush_at=500, max_queue_size=20_000)
    sent: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = [
            client.capture("load", distinct_id=f"t{n}", properties={"i": i}) for i in range(2500)
        ]
        with lock:
            sent.extend(t.cast(list[str], mine))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    client.flush()
    client.shutdown()
    got = [e.uuid for e in frontend.store.events()]
    assert len(sent) == len(set(sent)) == 10_000
    assert len(got) == 10_000
    assert set(got) == set(sent)
