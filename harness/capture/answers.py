"""What the mock answers: bodies the SDKs accept without error or retry.

Pure functions of the decoded request and the status chosen (faults
included)::

    reply = answer(decoded, "/flags/", status=200)
    reply.body  # b'{"flags": {}, "errorsWhileComputingFlags": false, ...}'

The shapes follow the SDK's readers: ``posthog/request.py``
(``_process_response`` reads ``detail`` on errors), ``posthog/capture_v1.py``
(``_parse_v1_response`` needs a ``results`` map on 2xx, keyed by uuid) and the
flag code in ``posthog/client.py`` (``flags``/``requestId``; the
definitions poller reads ``flags``, ``group_type_mapping``, ``cohorts``).
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
import uuid

from harness.capture.decode import Decoded
from harness.capture.decode import canonical_path
from harness.capture.records import RequestKind

JSON = "application/json"


@dataclasses.dataclass(frozen=True)
class Reply:
    """One answer for a front end to send.

    :param delay_s: hold the answer this long first (loopback server only).
    :param drop: close the connection without answering.
    """

    status: int
    body: bytes
    content_type: str = JSON
    delay_s: float = 0.0
    drop: bool = False


def answer(decoded: Decoded, path: str, status: int) -> Reply:
    """The reply for a request the store recorded with ``status``."""
    if decoded.kind is RequestKind.MALFORMED:
        return _json_reply(400, _error("malformed", decoded.error or "malformed request"))
    if status != 200:
        detail = f"posthog-verify injected a {status} answer"
        return _json_reply(status, _error("fault_injected", detail))
    if decoded.kind is RequestKind.CAPTURE:
        return _json_reply(200, _capture_body(decoded))
    if decoded.kind is RequestKind.FLAGS:
        return _json_reply(200, flags_body(path))
    return _json_reply(200, {})


def _capture_body(decoded: Decoded) -> dict[str, t.Any]:
    if decoded.wire == "v1":
        # Every uuid "ok": absent uuids count as accepted too, but explicit is
        # what the real server sends.
        results = {e["uuid"]: {"result": "ok"} for e in decoded.events if e.get("uuid")}
        return {"results": results}
    return {"status": 1}


def flags_body(path: str) -> t.Any:
    """An empty, valid answer for every flag and remote-config endpoint."""
    p = canonical_path(path)
    if p in ("/flags/definitions", "/api/feature_flag/local_evaluation"):
        return {"flags": [], "group_type_mapping": {}, "cohorts": {}}
    if p.endswith("/remote_config"):
        return None  # the flag has no payload
    if p.startswith("/array/"):
        return {"supportedCompression": ["gzip-js"], "hasFeatureFlags": False}
    return {
        "flags": {},
        "featureFlags": {},
        "featureFlagPayloads": {},
        "errorsWhileComputingFlags": False,
        "requestId": str(uuid.uuid4()),
    }


def _error(code: str, detail: str) -> dict[str, str]:
    return {"type": "validation_error", "code": code, "detail": detail}


def _json_reply(status: int, payload: t.Any) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"))
