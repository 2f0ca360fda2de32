"""Everything about PostHog's wire: decoding, the store, and two front ends.

::

    from harness.capture import CaptureServer, intercept

    with CaptureServer() as server:          # an app in another process
        ...
    with intercept() as mock:                # an app in this process
        ...

Both front ends feed a :class:`CaptureStore`; checks read its
:class:`CapturedRequest` and :class:`CapturedEvent` records.
"""

from __future__ import annotations

import typing as t

from .answers import Reply as Reply
from .decode import Decoded as Decoded
from .decode import classify_path as classify_path
from .decode import decode_request as decode_request
from .faults import Faults as Faults
from .faults import Outcome as Outcome
from .records import ORIGINAL_HOST_HEADER as ORIGINAL_HOST_HEADER
from .records import STATUS_DROPPED as STATUS_DROPPED
from .records import CapturedEvent as CapturedEvent
from .records import CapturedRequest as CapturedRequest
from .records import RequestKind as RequestKind
from .records import to_jsonable as to_jsonable
from .server import CaptureServer as CaptureServer
from .store import CaptureStore as CaptureStore
from .store import Waiting as Waiting

if t.TYPE_CHECKING:
    from .interception import InProcessMock as InProcessMock
    from .interception import intercept as intercept
    from .interception import is_posthog_host as is_posthog_host

#: The in-process front end, imported on first use: it needs ``responses`` and
#: ``requests`` (a quarter of a second), which a process that only serves the
#: mock, reads records or boots apps in children never uses.
_IN_PROCESS = frozenset({"InProcessMock", "intercept", "is_posthog_host"})


def __getattr__(name: str) -> t.Any:
    if name in _IN_PROCESS:
        from . import interception

        return getattr(interception, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
