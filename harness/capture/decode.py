"""Decoding PostHog ingestion requests into normalised events.

This module does no I/O: it turns one request (method, path, query, headers,
body bytes) into a :class:`Decoded`, which every front end then stores. It
knows every body the posthog Python SDK sends (``/batch/``, the capture v1
endpoint ``/i/v1/analytics/events``) and the capture shapes of the other SDKs
(``/e/``, ``/i/v0/e/``, ``/capture/``, ``/track/``, ``/engage/``: one event or a
list, JSON, gzip, deflate, or the ``data=<base64>`` form encoding)::

    decoded = decode_request("POST", "/batch/", "", headers, body)
    if decoded.kind is RequestKind.MALFORMED:
        print(decoded.error)

:func:`decode_request` never raises: whatever it cannot read becomes
``MALFORMED`` with a reason precise enough to quote as evidence.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import json
import re
import typing as t
import urllib.parse
import zlib

from harness.capture.records import RequestKind

try:  # optional, as in the SDK: posthog[zstd]
    import zstandard as _zstandard
except ImportError:  # pragma: no cover - depends on the environment
    _zstandard = None

BATCH_PATHS = frozenset({"/batch", "/i/v0/ai/batch"})
V1_PATH = "/i/v1/analytics/events"
# The JS (and other) SDKs' single-event / list endpoints.
JS_PATHS = frozenset({"/e", "/i/v0/e", "/capture", "/track", "/engage"})

_FLAGS_RE = re.compile(
    r"^/(flags|decide|flags/definitions|api/feature_flag/local_evaluation"
    r"|api/(projects|environments)/[^/]+/feature_flags(/.*)?|array/.+)$"
)
# Paths PostHog serves that carry no events (traces, metrics, recordings, API).
_OTHER_POSTHOG_RE = re.compile(r"^/(i/.*|s|api/(projects|environments|feature_flag)/.*|static/.*)$")

_MAX_DECOMPRESSED = 64 * 1024 * 1024  # a zip bomb must not take the mock down
_JSON_TYPES = ("application/json", "text/plain", "application/octet-stream", "")
_FORM_TYPE = "application/x-www-form-urlencoded"

# v1 lifts these out of properties; put them back so every wire reads the same.
_V1_OPTIONS = {
    "cookieless_mode": "$cookieless_mode",
    "disable_skew_correction": "$ignore_sent_at",
    "product_tour_id": "$product_tour_id",
    "process_person_profile": "$process_person_profile",
}
_V1_TOPLEVEL = {"session_id": "$session_id", "window_id": "$window_id"}


class DecodeError(ValueError):
    """Why a body could not be read; its message is the MALFORMED reason."""


@dataclasses.dataclass(frozen=True)
class Decoded:
    """What a request meant.

    :param events: normalised dicts with exactly the keys ``event``,
        ``distinct_id``, ``properties``, ``set``, ``set_once``, ``uuid``,
        ``timestamp``, ``api_key`` (the :class:`CapturedEvent` fields a request
        alone determines).
    :param wire: which protocol was recognised: ``"batch"``, ``"v1"``,
        ``"js"``, ``"flags"`` or ``""``; the store picks its answer by it.
    """

    kind: RequestKind
    events: tuple[dict[str, t.Any], ...] = ()
    error: str | None = None
    wire: str = ""


def canonical_path(path: str) -> str:
    """``/batch/`` and ``/batch`` are the same endpoint; the query is not part."""
    path = path.split("?", 1)[0] or "/"
    return path.rstrip("/") or "/"


def classify_path(path: str) -> RequestKind | None:
    """The kind a path implies before its body is read, None if not PostHog's.

    CAPTURE for event endpoints, FLAGS for flag and remote-config endpoints,
    OTHER for the rest of PostHog's surface. The in-process front end refuses
    requests whose path gives None unless their host is PostHog's.
    """
    p = canonical_path(path)
    if p in BATCH_PATHS or p == V1_PATH or p in JS_PATHS:
        return RequestKind.CAPTURE
    if _FLAGS_RE.match(p):
        return RequestKind.FLAGS
    if _OTHER_POSTHOG_RE.match(p):
        return RequestKind.OTHER
    return None


def decode_request(
    method: str,
    path: str,
    query: str,
    headers: t.Mapping[str, str],
    body: bytes,
) -> Decoded:
    """Classify a request and, for a capture endpoint, decode its events.

    Never raises: an undecodable capture body is ``MALFORMED`` with the reason.
    """
    try:
        return _decode(method, path, query, headers, body)
    except DecodeError as exc:
        return Decoded(RequestKind.MALFORMED, error=str(exc))
    except Exception as exc:  # a bug here must not become a crash of the mock
        return Decoded(RequestKind.MALFORMED, error=f"decoder failed: {exc!r}")


def _decode(
    method: str, path: str, query: str, headers: t.Mapping[str, str], body: bytes
) -> Decoded:
    kind = classify_path(path)
    if kind is RequestKind.FLAGS:
        return Decoded(RequestKind.FLAGS, wire="flags")
    if kind is not RequestKind.CAPTURE:
        return Decoded(RequestKind.OTHER)
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    params = _parse_qs(query)
    p = canonical_path(path)
    if p == V1_PATH:
        return _decode_v1(method, lower, body)
    payload = _read_payload(method, lower, params, body)
    if p in BATCH_PATHS:
        return _decode_batch(payload, lower)
    return _decode_js(payload, lower, params, engage=p == "/engage")


def _parse_qs(query: str) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True)
    return dict(pairs)


# --- the three wire shapes -------------------------------------------------


def _decode_batch(payload: t.Any, headers: dict[str, str]) -> Decoded:
    if not isinstance(payload, dict):
        raise DecodeError(f"/batch/ body must be a JSON object, got {_type(payload)}")
    if "batch" not in payload:
        raise DecodeError("/batch/ body has no 'batch' key")
    raw = payload["batch"]
    if not isinstance(raw, list):
        raise DecodeError(f"'batch' must be a list, got {_type(raw)}")
    key = _envelope_key(payload, headers)
    events = tuple(_normalise(e, i, key) for i, e in enumerate(raw))
    return Decoded(RequestKind.CAPTURE, events, wire="batch")


def _decode_v1(method: str, headers: dict[str, str], body: bytes) -> Decoded:
    if method.upper() != "POST":
        raise DecodeError(f"{V1_PATH} takes POST, got {method.upper()}")
    _check_content_type(headers, allow_form=False)
    payload = _json(_decompress(body, headers.get("content-encoding", "")))
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise DecodeError("v1 body must be a JSON object with a 'batch' list")
    key = _bearer(headers)
    lib, _, version = headers.get("posthog-sdk-info", "").partition("/")
    events = []
    for i, raw in enumerate(payload["batch"]):
        event = _normalise(raw, i, key)
        _restore_v1_properties(raw, event["properties"], lib, version)
        events.append(event)
    return Decoded(RequestKind.CAPTURE, tuple(events), wire="v1")


def _restore_v1_properties(
    raw: dict[str, t.Any], props: dict[str, t.Any], lib: str, ver: str
) -> None:
    """Undo the v1 transform (options, lifted ids, stripped $lib) so a v1
    event compares equal to the same event sent to ``/batch/``."""
    options = raw.get("options")
    if options is not None and not isinstance(options, dict):
        raise DecodeError(f"event {raw.get('uuid')!r}: 'options' must be an object")
    for wire_key, prop in _V1_OPTIONS.items():
        if options and wire_key in options:
            props.setdefault(prop, options[wire_key])
    for wire_key, prop in _V1_TOPLEVEL.items():
        if wire_key in raw:
            props.setdefault(prop, raw[wire_key])
    if lib:
        props.setdefault("$lib", lib)
        props.setdefault("$lib_version", ver)


def _decode_js(
    payload: t.Any, headers: dict[str, str], params: dict[str, str], *, engage: bool
) -> Decoded:
    if isinstance(payload, list):
        raw_events, envelope = payload, {}
    elif isinstance(payload, dict) and "batch" in payload:
        if not isinstance(payload["batch"], list):
            raise DecodeError(f"'batch' must be a list, got {_type(payload['batch'])}")
        raw_events, envelope = payload["batch"], payload
    elif isinstance(payload, dict):
        raw_events, envelope = [payload], {}
    else:
        raise DecodeError(f"body must be an event object or a list, got {_type(payload)}")
    key = _envelope_key(envelope, headers) or params.get("token") or params.get("api_key")
    events = tuple(
        _normalise(_engage_shape(e) if engage else e, i, key) for i, e in enumerate(raw_events)
    )
    return Decoded(RequestKind.CAPTURE, events, wire="js")


def _engage_shape(raw: t.Any) -> t.Any:
    """Old ``/engage/`` bodies are ``{"$set": ..., "$token", "$distinct_id"}``:
    the server records them as ``$identify``."""
    if not isinstance(raw, dict) or "event" in raw:
        return raw
    shaped = dict(raw)
    shaped["event"] = "$identify"
    shaped.setdefault("distinct_id", raw.get("$distinct_id"))
    shaped.setdefault("token", raw.get("$token"))
    return shaped


# --- one event ---------------------------------------------------------------


def _normalise(raw: t.Any, index: int, envelope_key: str | None) -> dict[str, t.Any]:
    if not isinstance(raw, dict):
        raise DecodeError(f"event {index} is {_type(raw)}, not an object")
    name = raw.get("event")
    if not isinstance(name, str) or not name:
        raise DecodeError(f"event {index} has no 'event' name (got {name!r:.60})")
    props = raw.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise DecodeError(f"event {index} ({name}): 'properties' is {_type(props)}, not an object")
    props = dict(props)
    person = {k: _person(raw, props, k, index) for k in ("$set", "$set_once")}
    return {
        "event": name,
        "distinct_id": _scalar(
            raw.get("distinct_id", props.get("distinct_id")), index, "distinct_id"
        ),
        "properties": props,
        "set": person["$set"],
        "set_once": person["$set_once"],
        "uuid": _scalar(raw.get("uuid"), index, "uuid"),
        "timestamp": _scalar(raw.get("timestamp"), index, "timestamp"),
        "api_key": _event_key(raw, props) or envelope_key,
    }


def _person(
    raw: dict[str, t.Any], props: dict[str, t.Any], key: str, index: int
) -> dict[str, t.Any] | None:
    """Merge ``$set`` from the top level and from properties (the SDK's v1
    rule: properties win), removing it from properties."""
    merged: dict[str, t.Any] | None = None
    for value in (raw.get(key), props.pop(key, None)):
        if value is None:
            continue
        if not isinstance(value, dict):
            raise DecodeError(f"event {index}: '{key}' is {_type(value)}, not an object")
        merged = {**(merged or {}), **value}
    return merged


def _scalar(value: t.Any, index: int, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DecodeError(f"event {index}: '{field}' is {_type(value)}, not a string")
    return str(value)


def _event_key(raw: dict[str, t.Any], props: dict[str, t.Any]) -> str | None:
    for value in (raw.get("api_key"), raw.get("token"), props.get("token")):
        if isinstance(value, str) and value:
            return value
    return None


def _envelope_key(envelope: dict[str, t.Any], headers: dict[str, str]) -> str | None:
    for value in (envelope.get("api_key"), envelope.get("token")):
        if isinstance(value, str) and value:
            return value
    return _bearer(headers)


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# --- bytes to JSON -------------------------------------------------------------


def _read_payload(
    method: str, headers: dict[str, str], params: dict[str, str], body: bytes
) -> t.Any:
    """The JSON value a legacy/JS capture request carries, whatever its
    encoding: raw or compressed JSON, a form ``data=`` field, or (GET) the
    ``data`` query parameter of the JS image fallback."""
    if method.upper() == "GET" and not body:
        if "data" not in params:
            raise DecodeError("GET capture request without a 'data' query parameter")
        return _json(_data_field(params["data"], params.get("compression", "")))
    ctype = _check_content_type(headers, allow_form=True)
    compression = params.get("compression", "")
    if ctype == _FORM_TYPE:
        form = _parse_qs(_text(body))
        if "data" not in form:
            raise DecodeError("form body has no 'data' field")
        return _json(_data_field(form["data"], form.get("compression", compression)))
    raw = _decompress(body, headers.get("content-encoding", ""), compression)
    return _json(raw)


def _check_content_type(headers: dict[str, str], *, allow_form: bool) -> str:
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in _JSON_TYPES or ctype.endswith("+json") or (allow_form and ctype == _FORM_TYPE):
        return ctype
    raise DecodeError(f"unsupported Content-Type {ctype!r}: expected JSON, text/plain or a form")


def _data_field(value: str, compression: str) -> bytes:
    """A form ``data`` value: base64 (possibly of gzip), or URL-encoded JSON."""
    if compression == "lz64":
        raise DecodeError("lz64 not supported")
    stripped = value.strip()
    if stripped.startswith(("{", "[")):
        return stripped.encode("utf-8")
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"'data' is neither JSON nor base64: {exc}") from None
    return _decompress(raw, "", compression)


def _decompress(body: bytes, encoding: str, compression: str = "") -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity") and compression == "lz64":
        raise DecodeError("lz64 not supported")
    if encoding == "gzip" or compression == "gzip-js" or body[:2] == b"\x1f\x8b":
        return _gunzip(body)
    if encoding == "deflate":
        return _inflate(body)
    if encoding == "zstd":
        return _unzstd(body)
    if encoding not in ("", "identity"):
        raise DecodeError(f"unsupported Content-Encoding {encoding!r}")
    return body


def _gunzip(body: bytes) -> bytes:
    try:
        return _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS), body, "gzip")
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DecodeError(f"body is not valid gzip: {exc}") from None


def _inflate(body: bytes) -> bytes:
    """zlib-wrapped deflate (what the SDK sends), or raw deflate (what some
    clients send under the same name)."""
    for wbits, label in ((zlib.MAX_WBITS, "zlib"), (-zlib.MAX_WBITS, "raw deflate")):
        try:
            return _bounded(zlib.decompressobj(wbits), body, label)
        except zlib.error:
            continue
    raise DecodeError("body is not valid deflate (neither zlib-wrapped nor raw)")


def _bounded(decomp: t.Any, body: bytes, label: str) -> bytes:
    out: bytes = decomp.decompress(body, _MAX_DECOMPRESSED)
    if decomp.unconsumed_tail:
        raise DecodeError(f"{label} body inflates past {_MAX_DECOMPRESSED} bytes")
    if not decomp.eof:
        raise DecodeError(f"{label} stream is truncated")
    return out


def _unzstd(body: bytes) -> bytes:
    if _zstandard is None:
        raise DecodeError("Content-Encoding zstd needs the zstandard package, not installed")
    try:
        out: bytes = _zstandard.ZstdDecompressor().decompress(
            body, max_output_size=_MAX_DECOMPRESSED
        )
    except _zstandard.ZstdError as exc:
        raise DecodeError(f"body is not valid zstd: {exc}") from None
    return out


def _json(raw: bytes) -> t.Any:
    text = _text(raw)
    if not text.strip():
        raise DecodeError("empty body")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise DecodeError("body is not valid JSON: nested too deeply") from None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not UTF-8: {exc}") from None


def _type(value: t.Any) -> str:
    return "null" if value is None else type(value).__name__
