"""The loopback server: keep-alive, faults, and garbage on the wire."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from harness.capture import ORIGINAL_HOST_HEADER
from harness.capture import STATUS_DROPPED
from harness.capture import CaptureServer
from harness.capture import RequestKind

BATCH = json.dumps(
    {"api_key": "phc_k", "batch": [{"event": "e", "distinct_id": "d", "uuid": "u1"}]}
).encode()


def _raw_request(path: str = "/batch/", body: bytes = BATCH, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def _exchange(server: CaptureServer, data: bytes, *, half_close: bool = True) -> bytes:
    """Send ``data``, then read until the server closes (or 3 s pass)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP response (head, body) off a kept-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def test_url_is_loopback_with_a_real_port(server: CaptureServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


def test_keep_alive_answers_two_requests_on_one_connection(server: CaptureServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
        answers = []
        for _ in range(2):
            sock.sendall(_raw_request())
            answers.append(_read_response(sock))
    assert [(h.split(b"\r\n")[0], b) for h, b in answers] == [
        (b"HTTP/1.1 200 OK", b'{"status": 1}')
    ] * 2
    assert [r.seq for r in server.store.requests()] == [0, 1]


def test_requests_session_reuses_the_connection(server: CaptureServer) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert session.post(server.url + "/batch/", data=BATCH).json() == {"status": 1}
    assert len(server._httpd.handler_threads()) <= 1  # one pooled connection, at most


def test_chunked_body_is_read(server: CaptureServer) -> None:
    response = requests.post(server.url + "/batch/", data=iter([BATCH[:10], BATCH[10:]]))
    assert response.status_code == 200
    assert [e.uuid for e in server.store.events()] == ["u1"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"\x00\x01\x02 garbage\r\n\r\n", "not a valid HTTP request", id="binary"),
        pytest.param(b"\r\n", "blank request line", id="blank"),
        pytest.param(
            _raw_request(extra="Content-Length: abc\r\n").replace(
                f"Content-Length: {len(BATCH)}\r\n".encode(), b""
            ),
            "invalid Content-Length 'abc'",
            id="bad-length",
        ),
        pytest.param(_raw_request()[:-10], "body truncated: Content-Length", id="truncated"),
        pytest.param(
            b"POST /batch/ HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            "invalid Content-Length",
            id="negative",
        ),
        pytest.param(
            b"POST /batch/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "bad chunk size",
            id="bad-chunk",
        ),
        pytest.param(_raw_request(body=b"{nope"), "body is not valid JSON", id="bad-json"),
    ],
)
def test_garbage_is_recorded_and_answered_400(
    server: CaptureServer, data: bytes, reason: str
) -> None:
    answer = _exchange(server, data)
    assert answer.startswith(b"HTTP/1.")
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    (record,) = server.store.requests()
    assert record.kind is RequestKind.MALFORMED
    assert reason in (record.error or "")
    assert requests.post(server.url + "/batch/", data=BATCH).status_code == 200
    assert server.store.handler_errors == []


def test_delay_holds_the_answer(server: CaptureServer) -> None:
    server.faults.delay(0.3)
    start = time.monotonic()
    assert requests.post(server.url + "/batch/", data=BATCH).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_stop_cuts_a_long_delay_short() -> None:
    server = CaptureServer().start()
    server.faults.delay(60)
    failed = threading.Event()

    def send() -> None:
        try:
            requests.post(server.url + "/batch/", data=BATCH, timeout=30)
        except requests.RequestException:
            failed.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert server.store.wait_for(lambda s: len(s.requests()) == 1, timeout=5).result
    start = time.monotonic()
    server.stop(timeout=5)
    sender.join(5)
    assert time.monotonic() - start < 2
    assert failed.is_set()


def test_drop_closes_without_answer_then_serves(server: CaptureServer) -> None:
    server.faults.drop_next()
    with pytest.raises(requests.ConnectionError):
        requests.post(server.url + "/batch/", data=BATCH)
    assert requests.post(server.url + "/batch/", data=BATCH).status_code == 200
    first, second = server.store.requests()
    assert (first.status, second.status) == (STATUS_DROPPED, 200)
    assert [e.acknowledged for e in server.store.events()] == [False, True]


def test_statuses_sequence_then_200(server: CaptureServer) -> None:
    server.faults.statuses([503, 429])
    got = [requests.post(server.url + "/batch/", data=BATCH).status_code for _ in range(3)]
    assert got == [503, 429, 200]
    flags = requests.post(server.url + "/flags/?v=4", data=b"{}")
    assert flags.status_code == 200  # the fault was for capture only


def test_original_host_header_is_recorded(server: CaptureServer) -> None:
    headers = {ORIGINAL_HOST_HEADER: "us.i.posthog.com"}
    requests.post(server.url + "/batch/", data=BATCH, headers=headers)
    (record,) = server.store.requests()
    assert record.original_host == "us.i.posthog.com"
    assert record.host == f"127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def shared_server() -> CaptureServer:
    with CaptureServer(read_timeout=2.0) as srv:
        yield srv


def _wire_garbage() -> st.SearchStrategy[bytes]:
    valid = _raw_request()
    return st.one_of(
        st.binary(min_size=1, max_size=200),
        st.integers(1, len(valid) - 1).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=3)).map(
            lambda t: valid[: t[0]] + t[1] + valid[t[0] + 1 :]
        ),
    )


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=_wire_garbage())
def test_random_bytes_never_break_the_server(shared_server: CaptureServer, data: bytes) -> None:
    store = shared_server.store
    before = len(store.requests())
    _exchange(shared_server, data)
    new = store.requests()[before:]
    assert new, f"nothing recorded for {data!r}"
    for record in new:
        if record.kind is RequestKind.MALFORMED:
            assert record.error
        else:
            assert record.kind in (RequestKind.CAPTURE, RequestKind.FLAGS, RequestKind.OTHER)
    assert store.handler_errors == []
    assert requests.post(shared_server.url + "/batch/", data=BATCH).status_code == 200
