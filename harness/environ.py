"""The process environment, read once, in one step no other thread can break.

pytest sets and deletes ``PYTEST_CURRENT_TEST`` around every item, from its
main thread, while the harness verifies apps in a pool. ``dict(os.environ)``
or ``os.environ.items()`` walk the mapping key by key in Python, so a key
deleted half-way raises ``KeyError: 'PYTEST_CURRENT_TEST'`` (that turned a
correct app's 14 checks into ``error``, and flaked the project's CI). So the
harness takes one snapshot when a verification session starts
(:class:`harness.verify.Options` does it when built, in pytest_configure) and
passes it down; nothing on a worker thread walks ``os.environ``::

    environ = snapshot()   # a plain dict, never changed afterwards
    child_env = base_environ(environ) | injected

:func:`snapshot` itself copies the mapping's underlying dict in one C-level
call, which holds the interpreter lock for its whole length, so even a
process-wide helper started from a worker thread (the zygote) reads a
consistent environment.
"""

from __future__ import annotations

import os
import typing as t


def snapshot() -> dict[str, str]:
    """A copy of the process environment, consistent even while another
    thread changes it."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):  # not CPython's os._Environ: the plain walk
        return dict(os.environ)
    raw = data.copy()  # one C call: no other thread runs in between
    decode_key = t.cast(t.Callable[[t.Any], str], os.environ.decodekey)
    decode_value = t.cast(t.Callable[[t.Any], str], os.environ.decodevalue)
    return {decode_key(key): decode_value(value) for key, value in raw.items()}
