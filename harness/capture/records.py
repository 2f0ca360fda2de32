"""The records the capture layer produces: what reached the mock, normalised.

Every front end (``responses`` in process, the loopback server out of process)
turns a request into one :class:`CapturedRequest` and, when it carried events,
one :class:`CapturedEvent` per event. Checks read only these records, so they
never care which SDK, endpoint or encoding produced an event.

Both records are frozen and convert to JSON-able dicts with :func:`to_jsonable`
so they can cross a process boundary (xdist workers, the JSON report).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import typing as t

# Set by the child process when it redirects a request its app addressed to a
# hardcoded PostHog host to the loopback mock; the store reads it into
# ``CapturedRequest.original_host``.
ORIGINAL_HOST_HEADER = "X-Posthog-Verify-Original-Host"

# The status recorded for a request the mock dropped (closed without answering).
STATUS_DROPPED = 0


class RequestKind(enum.StrEnum):
    """What the mock made of a request."""

    CAPTURE = "capture"  # carried events (possibly zero after decoding an empty batch)
    FLAGS = "flags"  # /flags, /decide, /flags/definitions, remote config
    MALFORMED = "malformed"  # a capture path whose body could not be decoded; answered 400
    REFUSED = "refused"  # a non-PostHog request the in-process front end refused
    OTHER = "other"  # any other PostHog-host path; answered 200 with an empty object


@dataclasses.dataclass(frozen=True)
class CapturedRequest:
    """One HTTP request that reached the mock, kept whole as evidence.

    :param seq: position in the store, starting at 0; events point back here.
    :param host: the ``Host`` the client addressed (``host:port`` for the
        loopback server). ``original_host`` is set when the harness redirected a
        request addressed elsewhere (an app that hardcodes a real PostHog host).
    :param status: the status the mock answered (fault injection included).
    :param body: the raw bytes as sent, before any decompression.
    :param error: why a MALFORMED request could not be decoded, or why a
        REFUSED request was refused.
    :param truncated: the store's byte budget was spent: ``body`` is empty and
        the request's events were not kept (see ``CaptureStore.overflow``).
    """

    seq: int
    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    kind: RequestKind
    received_at: float
    original_host: str | None = None
    error: str | None = None
    truncated: bool = False

    @property
    def acknowledged(self) -> bool:
        """Only a 200 counts as delivered: the SDK retries everything else."""
        return self.status == 200


@dataclasses.dataclass(frozen=True)
class CapturedEvent:
    """One event, normalised from any capture endpoint and encoding.

    ``set`` and ``set_once`` hold the person properties, wherever the wire put
    them (top-level ``$set`` in ``/batch/``, inside ``properties`` in v1 and in
    the JS SDK). They are removed from ``properties`` so that a check that
    inspects event properties never mistakes a person property for one.
    """

    event: str
    distinct_id: str | None
    properties: dict[str, t.Any]
    set: dict[str, t.Any] | None
    set_once: dict[str, t.Any] | None
    uuid: str | None
    timestamp: str | None
    api_key: str | None
    host: str
    path: str
    request_seq: int
    acknowledged: bool


def to_jsonable(value: t.Any) -> t.Any:
    """Convert records (and containers of them) to plain JSON-able values.

    Bytes become ``{"base64": ...}``; enums their value.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value
