"""decode_request: every wire shape to one normalised event, garbage to MALFORMED."""

from __future__ import annotations

import base64
import gzip
import json
import typing as t
import urllib.parse
import zlib

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from harness.capture import RequestKind
from harness.capture import classify_path
from harness.capture import decode_request

JSON_CT = {"Content-Type": "application/json"}
FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}
EVENT = {
    "event": "signed_up",
    "distinct_id": "u1",
    "properties": {"plan": "pro", "$set": {"email": "a@x.io"}},
    "$set_once": {"first": "yes"},
    "uuid": "0d4c6e02-0000-4000-8000-000000000001",
    "timestamp": "2025-01-01T00:00:00+00:00",
}
EXPECTED = {
    "event": "signed_up",
    "distinct_id": "u1",
    "properties": {"plan": "pro"},
    "set": {"email": "a@x.io"},
    "set_once": {"first": "yes"},
    "uuid": "0d4c6e02-0000-4000-8000-000000000001",
    "timestamp": "2025-01-01T00:00:00+00:00",
    "api_key": "phc_k",
}


def _json(value: t.Any) -> bytes:
    return json.dumps(value).encode()


def _gzip(value: t.Any) -> bytes:
    # mtime=0: the same bytes every time. gzip stamps the current second
    # otherwise, and a parameter holding them got a different test id on each
    # xdist worker that collected in another second ("Different tests were
    # collected between gw1 and gw0").
    return gzip.compress(_json(value), mtime=0)


BATCH = {"api_key": "phc_k", "batch": [EVENT]}
JS_EVENT = {**EVENT, "properties": {**EVENT["properties"], "token": "phc_k"}}
JS_EXPECTED = {**EXPECTED, "properties": {"plan": "pro", "token": "phc_k"}}
B64 = base64.b64encode(_json(JS_EVENT)).decode()


@pytest.mark.parametrize(
    ("path", "query", "headers", "body", "expected"),
    [
        pytest.param("/batch/", "", JSON_CT, _json(BATCH), EXPECTED, id="batch"),
        pytest.param("/batch", "", {}, _json(BATCH), EXPECTED, id="batch-no-slash-no-ctype"),
        pytest.param(
            "/batch/",
            "",
            {**JSON_CT, "Content-Encoding": "gzip"},
            _gzip(BATCH),
            EXPECTED,
            id="batch-gzip",
        ),
        pytest.param(
            "/batch/",
            "",
            {**JSON_CT, "Content-Encoding": "deflate"},
            zlib.compress(_json(BATCH)),
            EXPECTED,
            id="batch-deflate",
        ),
        pytest.param("/e/", "", JSON_CT, _json(JS_EVENT), JS_EXPECTED, id="js-single"),
        pytest.param("/i/v0/e/", "", JSON_CT, _json([JS_EVENT]), JS_EXPECTED, id="js-list"),
        pytest.param(
            "/capture/",
            "",
            {"Content-Type": "text/plain"},
            _json({"api_key": "phc_k", "batch": [EVENT]}),
            EXPECTED,
            id="capture-envelope",
        ),
        pytest.param(
            "/track/", "", JSON_CT, _json({**EVENT, "token": "phc_k"}), EXPECTED, id="token"
        ),
        pytest.param(
            "/e/", "", FORM_CT, f"data={urllib.parse.quote(B64)}".encode(), JS_EXPECTED, id="b64"
        ),
        pytest.param(
            "/e/",
            "",
            FORM_CT,
            urllib.parse.urlencode({"data": json.dumps(JS_EVENT)}).encode(),
            JS_EXPECTED,
            id="form-json",
        ),
        pytest.param(
            "/e/",
            "compression=gzip-js",
            {"Content-Type": "text/plain"},
            _gzip(JS_EVENT),
            JS_EXPECTED,
            id="gzip-js",
        ),
        pytest.param(
            "/e/",
            "",
            FORM_CT,
            urllib.parse.urlencode(
                {"data": base64.b64encode(_gzip(JS_EVENT)).decode(), "compression": "gzip-js"}
            ).encode(),
            JS_EXPECTED,
            id="form-b64-gzip-js",
        ),
    ],
)
def test_decodes_every_wire_shape(
    path: str, query: str, headers: dict[str, str], body: bytes, expected: dict[str, t.Any]
) -> None:
    decoded = decode_request("POST", path, query, headers, body)
    assert decoded.error is None
    assert decoded.kind is RequestKind.CAPTURE
    assert decoded.events == (expected,)


def test_js_get_with_data_query() -> None:
    query = urllib.parse.urlencode({"data": B64})
    decoded = decode_request("GET", "/e/", query, {}, b"")
    assert decoded.events == (JS_EXPECTED,)


def test_v1_restores_what_the_v1_transform_moved() -> None:
    event = {
        "event": "ev",
        "uuid": "u-1",
        "distinct_id": "d",
        "timestamp": "2025-01-01T00:00:00+00:00",
        "options": {"process_person_profile": False},
        "properties": {"a": 1, "$set": {"email": "e"}},
        "session_id": "s1",
    }
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Authorization": "Bearer phc_v1",
        "PostHog-Sdk-Info": "posthog-python/7.91.1",
    }
    body = _gzip({"created_at": "x", "batch": [event]})
    decoded = decode_request("POST", "/i/v1/analytics/events", "", headers, body)
    assert decoded.wire == "v1"
    (got,) = decoded.events
    assert got["api_key"] == "phc_v1"
    assert got["set"] == {"email": "e"}
    assert got["properties"] == {
        "a": 1,
        "$process_person_profile": False,
        "$session_id": "s1",
        "$lib": "posthog-python",
        "$lib_version": "7.91.1",
    }


def test_engage_becomes_identify() -> None:
    body = _json({"$set": {"name": "n"}, "$token": "phc_k", "$distinct_id": "d1"})
    (got,) = decode_request("POST", "/engage/", "", JSON_CT, body).events
    assert (got["event"], got["distinct_id"], got["api_key"], got["set"]) == (
        "$identify",
        "d1",
        "phc_k",
        {"name": "n"},
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/flags/?v=4", RequestKind.FLAGS),
        ("/flags", RequestKind.FLAGS),
        ("/decide/", RequestKind.FLAGS),
        ("/flags/definitions", RequestKind.FLAGS),
        ("/api/feature_flag/local_evaluation", RequestKind.FLAGS),
        ("/api/projects/@current/feature_flags/f/remote_config", RequestKind.FLAGS),
        ("/array/phc_k/config", RequestKind.FLAGS),
        ("/i/v1/traces", RequestKind.OTHER),
        ("/s/", RequestKind.OTHER),
        ("/batch/", RequestKind.CAPTURE),
        ("/i/v0/ai/batch/", RequestKind.CAPTURE),
        ("/v1/charges", None),
        ("/api/users", None),
    ],
)
def test_classify_path(path: str, kind: RequestKind | None) -> None:
    assert classify_path(path) is kind


def test_flags_path_is_flags_whatever_the_body() -> None:
    decoded = decode_request("POST", "/flags/", "v=4", JSON_CT, b"\x00garbage")
    assert (decoded.kind, decoded.error) == (RequestKind.FLAGS, None)


@pytest.mark.parametrize(
    ("path", "query", "headers", "body", "reason"),
    [
        ("/batch/", "", JSON_CT, b"{not json", "not valid JSON"),
        ("/batch/", "", JSON_CT, b"", "empty body"),
        ("/batch/", "", {"Content-Encoding": "gzip"}, b"\x1f\x8bnope", "not valid gzip"),
        ("/batch/", "", {"Content-Encoding": "gzip"}, _gzip(BATCH)[:-12], "truncated"),
        ("/batch/", "", {"Content-Encoding": "deflate"}, b"nope", "not valid deflate"),
        ("/batch/", "", {"Content-Encoding": "br"}, _json(BATCH), "unsupported Content-Encoding"),
        ("/batch/", "", {"Content-Type": "text/html"}, _json(BATCH), "unsupported Content-Type"),
        ("/batch/", "", JSON_CT, _json({"api_key": "k"}), "no 'batch' key"),
        ("/batch/", "", JSON_CT, _json({"batch": {}}), "'batch' must be a list"),
        ("/batch/", "", JSON_CT, _json([EVENT]), "must be a JSON object"),
        ("/batch/", "", JSON_CT, _json({"batch": [1]}), "event 0 is int"),
        ("/batch/", "", JSON_CT, _json({"batch": [{"x": 1}]}), "no 'event' name"),
        ("/e/", "", JSON_CT, _json({"event": "e", "properties": []}), "'properties' is list"),
        ("/e/", "", JSON_CT, _json({"event": "e", "$set": "x"}), "'$set' is str"),
        ("/e/", "", JSON_CT, _json({"event": "e", "distinct_id": {}}), "'distinct_id' is dict"),
        ("/e/", "", JSON_CT, _json("str"), "got str"),
        ("/e/", "", JSON_CT, b"\xff\xfe", "not UTF-8"),
        ("/e/", "", FORM_CT, b"other=1", "no 'data' field"),
        ("/e/", "", FORM_CT, b"data=abc&compression=lz64", "lz64 not supported"),
        ("/e/", "compression=lz64", {"Content-Type": "text/plain"}, b"xyz", "lz64 not supported"),
        ("/i/v1/analytics/events", "", JSON_CT, _json({"x": 1}), "'batch' list"),
        (
            "/i/v1/analytics/events",
            "",
            {**JSON_CT, "Content-Encoding": "zstd"},
            b"(\xb5/\xfd",
            "zstandard",
        ),
        ("/i/v1/analytics/events", "", FORM_CT, b"data=x", "unsupported Content-Type"),
    ],
)
def test_malformed_bodies_say_why(
    path: str, query: str, headers: dict[str, str], body: bytes, reason: str
) -> None:
    decoded = decode_request("POST", path, query, headers, body)
    assert decoded.kind is RequestKind.MALFORMED
    assert decoded.events == ()
    assert reason in (decoded.error or "")


def test_gzip_bomb_is_refused_not_inflated() -> None:
    bomb = gzip.compress(b"[" + b" " * (70 * 1024 * 1024) + b"]")
    decoded = decode_request("POST", "/batch/", "", {"Content-Encoding": "gzip"}, bomb)
    assert decoded.kind is RequestKind.MALFORMED
    assert "inflates past" in (decoded.error or "")


_headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Content-Encoding", "Authorization", "X-Other"]),
    st.sampled_from(
        ["application/json", "text/plain", "gzip", "deflate", "zstd", "br", "Bearer k", "", "x"]
    ),
)
_paths = st.sampled_from(
    ["/batch/", "/e/", "/i/v0/e/", "/capture/", "/engage/", "/i/v1/analytics/events", "/flags/"]
)


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n] + b"\x00" + valid[n + 1 :]),
        st.just(gzip.compress(valid)).flatmap(
            lambda z: st.integers(0, len(z)).map(lambda n: z[:n])
        ),
    )


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "PUT"]),
    path=_paths,
    query=st.sampled_from(["", "compression=gzip-js", "compression=lz64", "data=%%%", "v=4"]),
    headers=_headers,
    body=_mutations(_json(BATCH)),
)
def test_any_input_decodes_without_raising(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    decoded = decode_request(method, path, query, headers, body)
    if decoded.kind is RequestKind.MALFORMED:
        assert decoded.error
        assert not decoded.error.startswith("decoder failed"), decoded.error
    elif path == "/flags/":
        assert decoded.kind is RequestKind.FLAGS
    else:
        assert decoded.kind is RequestKind.CAPTURE
        assert all(isinstance(e["event"], str) for e in decoded.events)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["event", "batch", "properties", "$set", "distinct_id", "uuid", "api_key"]
                ),
                c,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_value_decodes_without_raising(value: t.Any) -> None:
    for path in ("/batch/", "/e/", "/i/v1/analytics/events"):
        decoded = decode_request("POST", path, "", JSON_CT, _json(value))
        assert decoded.kind in (RequestKind.CAPTURE, RequestKind.MALFORMED)
        if decoded.kind is RequestKind.MALFORMED:
            assert decoded.error
            assert not decoded.error.startswith("decoder failed"), decoded.error
