"""CaptureStore: records, faults, waiting, and errors from front-end threads."""

from __future__ import annotations

import json
import threading

import pytest

from harness.capture import ORIGINAL_HOST_HEADER
from harness.capture import CaptureStore
from harness.capture import Faults
from harness.capture import RequestKind

JSON_CT = {"Content-Type": "application/json"}


def _batch(*uuids: str) -> bytes:
    events = [{"event": "e", "distinct_id": "d", "uuid": u} for u in uuids]
    return json.dumps({"api_key": "phc_k", "batch": events}).encode()


def _post(store: CaptureStore, path: str = "/batch/", body: bytes = b"", **headers: str):
    return store.handle("POST", "http", "mock:1", path, "", {**JSON_CT, **headers}, body)


def test_handle_records_request_and_events() -> None:
    store = CaptureStore()
    reply = _post(store, body=_batch("a", "b"))
    assert (reply.status, json.loads(reply.body)) == (200, {"status": 1})
    (request,) = store.requests()
    assert (request.seq, request.kind, request.status, request.host) == (
        0,
        RequestKind.CAPTURE,
        200,
        "mock:1",
    )
    assert [(e.uuid, e.request_seq, e.acknowledged, e.api_key) for e in store.events()] == [
        ("a", 0, True, "phc_k"),
        ("b", 0, True, "phc_k"),
    ]


def test_malformed_is_answered_400_with_reason() -> None:
    store = CaptureStore()
    reply = _post(store, body=b"{oops")
    assert reply.status == 400
    assert "not valid JSON" in json.loads(reply.body)["detail"]
    (request,) = store.requests()
    assert request.kind is RequestKind.MALFORMED
    assert "not valid JSON" in (request.error or "")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/flags/", {"flags": {}, "errorsWhileComputingFlags": False}),
        ("/flags/definitions", {"flags": [], "group_type_mapping": {}, "cohorts": {}}),
        ("/api/feature_flag/local_evaluation", {"flags": [], "cohorts": {}}),
        ("/i/v1/traces", {}),
    ],
)
def test_non_capture_answers(path: str, expected: dict[str, object]) -> None:
    reply = _post(CaptureStore(), path=path, body=b"{}")
    body = json.loads(reply.body)
    assert reply.status == 200
    assert {k: body[k] for k in expected} == expected


def test_v1_answer_is_a_results_map() -> None:
    body = json.dumps({"batch": [{"event": "e", "uuid": "u1", "distinct_id": "d"}]}).encode()
    reply = _post(CaptureStore(), path="/i/v1/analytics/events", body=body)
    assert json.loads(reply.body) == {"results": {"u1": {"result": "ok"}}}


def test_faults_apply_in_order_and_per_kind() -> None:
    store = CaptureStore()
    store.faults.statuses([500, 503])
    store.faults.fail_next(status=502, kind=RequestKind.FLAGS)
    assert _post(store, path="/flags/", body=b"{}").status == 502
    got = [_post(store, body=_batch(str(i))).status for i in range(3)]
    assert got == [500, 503, 200]
    assert [e.acknowledged for e in store.events()] == [False, False, True]
    assert not store.faults.armed


def test_fault_answer_carries_detail_the_sdk_reads() -> None:
    store = CaptureStore()
    store.faults.fail_next()
    assert "injected a 500" in json.loads(_post(store, body=_batch("a")).body)["detail"]


def test_delay_adds_to_an_answer_fault() -> None:
    faults = Faults()
    faults.delay(0.5)
    faults.fail_next(status=429)
    first = faults.apply(RequestKind.CAPTURE)
    second = faults.apply(RequestKind.CAPTURE)
    assert (first.status, first.delay_s) == (429, 0.5)
    assert (second.status, second.delay_s) == (None, 0.5)
    faults.reset()
    assert faults.apply(RequestKind.CAPTURE).delay_s == 0


def test_unique_prefers_the_acknowledged_copy() -> None:
    store = CaptureStore()
    store.faults.fail_next()
    _post(store, body=_batch("a"))
    _post(store, body=_batch("a", "b"))
    assert len(store.events()) == 3
    unique = store.events(unique=True)
    assert [(e.uuid, e.acknowledged, e.request_seq) for e in unique] == [
        ("a", True, 1),
        ("b", True, 1),
    ]
    assert len(store.events(acknowledged_only=True)) == 2


def test_original_host_from_header() -> None:
    store = CaptureStore()
    _post(store, body=_batch("a"), **{ORIGINAL_HOST_HEADER.lower(): "eu.i.posthog.com"})
    assert store.requests()[0].original_host == "eu.i.posthog.com"


def test_wait_for_wakes_on_a_new_record() -> None:
    store = CaptureStore()
    sender = threading.Timer(0.05, lambda: _post(store, body=_batch("a")))
    sender.start()
    waited = store.wait_for(lambda s: len(s.events()) == 1, timeout=5)
    sender.join()
    assert waited.result
    assert waited.elapsed_s < 2


def test_wait_for_times_out() -> None:
    waited = CaptureStore().wait_for(lambda s: bool(s.events()), timeout=0.05)
    assert not waited.result
    assert waited.elapsed_s >= 0.05


def test_check_reraises_thread_errors_once() -> None:
    store = CaptureStore()
    store.record_error(KeyError("boom"))
    with pytest.raises(KeyError, match="boom"):
        store.check()
    store.check()  # forgotten after raising
    store.record_error(KeyError("a"))
    store.record_error(ValueError("b"))
    with pytest.raises(ExceptionGroup):
        store.check()


def test_record_refused_and_clear() -> None:
    store = CaptureStore()
    store.faults.fail_next()
    refused = store.record_refused("GET", "https://api.x.io/v1/y?z=1", {}, b"", "refused")
    assert (refused.kind, refused.host, refused.path, refused.query) == (
        RequestKind.REFUSED,
        "api.x.io",
        "/v1/y",
        "z=1",
    )
    store.clear()
    assert store.requests() == []
    assert not store.faults.armed
    _post(store, body=_batch("a"))
    assert store.requests()[0].seq == 0


def test_concurrent_handles_get_distinct_seqs() -> None:
    store = CaptureStore()
    threads = [
        threading.Thread(target=lambda i=i: _post(store, body=_batch(f"u{i}"))) for i in range(50)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.seq for r in store.requests()) == list(range(50))
    by_seq = {r.seq: r for r in store.requests()}
    for event in store.events():
        assert event.uuid in by_seq[event.request_seq].body.decode()


def test_within_the_budget_everything_is_kept() -> None:
    store = CaptureStore(budget_bytes=10_000)
    _post(store, body=_batch("a", "b"))
    assert store.overflow is None
    assert 0 < store.kept_bytes < 10_000
    assert [e.uuid for e in store.events()] == ["a", "b"]
    assert store.requests()[0].truncated is False


def test_past_the_budget_bodies_and_events_are_not_kept_and_the_loss_is_counted() -> None:
    store = CaptureStore(budget_bytes=2_000)
    big = json.dumps(
        {
            "api_key": "k",
            "batch": [
                {
                    "event": "e",
                    "distinct_id": "d",
                    "uuid": "big",
                    "properties": {"blob": "x" * 5_000},
                }
            ],
        }
    ).encode()
    _post(store, body=_batch("a"))
    reply = _post(store, body=big)
    _post(store, body=_batch("b"))  # a small one still fits afterwards
    assert reply.status == 200  # what the SDK is answered does not change
    first, second, third = store.requests()
    assert (second.truncated, second.body, second.kind) == (True, b"", RequestKind.CAPTURE)
    assert not first.truncated
    assert not third.truncated
    assert [e.uuid for e in store.events()] == ["a", "b"]
    assert store.kept_bytes <= 2_000
    overflow = store.overflow
    assert overflow is not None
    assert (overflow.requests, overflow.events) == (1, 1)
    assert overflow.bytes >= len(big)
    assert str(overflow).startswith("the mock's budget of 2000 bytes per app was spent: 1 request")
    store.clear()
    assert (store.overflow, store.kept_bytes) == (None, 0)
