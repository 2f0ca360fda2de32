"""What the app's interpreter runs with, and whether the harness supports it.

App side: this module runs inside the app's own interpreter (possibly not the
one pytest runs in, see ``--posthog-python``), so it imports the standard
library only. The child reports its runtime as the first record of its
observation log, and refuses to judge an app whose SDK or Flask lies outside
the ranges below, because the checks rest on SDK facts verified only there
(``tests/envs``)::

    record = runtime_record()          # {"type": "runtime", "schema": 1, ...}
    problem = unsupported(record["versions"], server="werkzeug")
    if problem:
        ...                            # a boot_failure the parent reports as error

Why these ranges (read from the SDK's wheels and changelog):

- posthog 6.0 is the first release whose top-level API has what PostHog's
  Flask guidance names: ``new_context``/``identify_context``/``tag`` (in
  ``posthog.contexts``; 5.x had them in ``posthog.scopes`` with other
  semantics), keyword ``capture(event, distinct_id=...)`` and no
  ``identify()``. ``enable_exception_autocapture`` exists since 3.x.
  ``posthog.integrations.flask`` exists from 7.66.0 on: an app importing it
  needs that SDK, and an older one fails its own import (``boots``). Likewise
  for the later APIs in :data:`SDK_API_SINCE` (``new_context(client=...)``
  from 6.9.0, ``Client.evaluate_flags`` from 7.14.0, read from the wheels): an
  app calling one on an SDK that predates it is not judged (``error`` naming
  the release it needs), as an app importing the Flask integration is not.
- Flask and werkzeug 2.2 to 3.x: the routing, error-handler and WSGI APIs the
  server entry uses are the same across them.
- Python 3.11 and later: the app side uses nothing newer; older interpreters
  are untested.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import re
import sys
import typing as t

#: Version of the observation log's records; the parent refuses another one.
SCHEMA_VERSION = 1

#: package -> (lowest supported, first unsupported); None is open-ended.
SUPPORTED: dict[str, tuple[tuple[int, ...], tuple[int, ...] | None]] = {
    "python": ((3, 11), None),
    "flask": ((2, 2), (4,)),
    "werkzeug": ((2, 2), (4,)),
    "posthog": ((6, 0), (8,)),
}
PACKAGES = ("flask", "werkzeug", "posthog", "gunicorn")
#: The first posthog release shipping ``posthog.integrations.flask``.
FLASK_INTEGRATION_SINCE = (7, 66, 0)
#: APIs of the supported range that its older releases lack, each with the
#: first release that has it (read from the published wheels): an app using
#: one on an older SDK needs a newer posthog, which is the environment's to
#: provide, not a defect of its integration. ``name`` is how the SDK spells it:
#: a module, ``Client.<method>``, or ``<function>(<keyword>=)``.
SDK_API_SINCE: dict[str, tuple[int, ...]] = {
    "posthog.integrations.flask": FLASK_INTEGRATION_SINCE,
    "new_context(client=)": (6, 9, 0),
    "Client.evaluate_flags": (7, 14, 0),
}
#: From posthog 7.39.0 the SDK's own atexit handler flushes within a 1 s
#: budget (``_ATEXIT_FLUSH_TIMEOUT_SECONDS``); before, it joins the consumer,
#: which finishes the batch in flight with its full retry backoff and drops
#: whatever is still queued behind it.
EXIT_BUDGET_SINCE = (7, 39, 0)

#: The address every request reaches the app from (a documentation-range
#: canary, TEST-NET-2): an app that copies ``request.remote_addr`` into events
#: leaks it where the checks can see it. Here because the app side sets it.
CLIENT_ADDRESS = "198.51.100.47"


def parse_version(text: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: ``"7.66.0rc1"`` -> (7, 66, 0)."""
    parts: list[int] = []
    for piece in text.split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):
            break
    return tuple(parts)


def describe_range(name: str) -> str:
    low, high = SUPPORTED[name]
    text = ">=" + ".".join(map(str, low))
    return text + (", <" + ".".join(map(str, high)) if high else "")


def package_versions() -> dict[str, str]:
    """Python and the app's packages as this interpreter resolves them (read
    once per ``sys.path``: a boot asks at start and again for each exception)."""
    return dict(_versions_on(tuple(sys.path)))


@functools.lru_cache(maxsize=4)
def _versions_on(path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # ``path`` is only the cache's key: importlib.metadata reads sys.path itself.
    versions = [("python", platform.python_version())]
    for name in PACKAGES:
        found = installed_version(name)
        if found is not None:
            versions.append((name, found))
    return tuple(versions)


def installed_version(name: str) -> str | None:
    """``importlib.metadata.version(name)`` from the metadata's headers alone:
    ``version()`` runs the email parser over the whole file, long description
    included (half the CPU of an app's start-up records)."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found = _VERSION_HEADER.search(text.partition("\n\n")[0])
    return found[1] if found else dist.version


_VERSION_HEADER = re.compile(r"^Version:[ \t]*(\S+)", re.MULTILINE)


def runtime_record() -> dict[str, t.Any]:
    """The first record of the log: the seam's version and what runs the app."""
    return {
        "type": "runtime",
        "schema": SCHEMA_VERSION,
        "executable": sys.executable,
        "versions": package_versions(),
    }


def _outside(name: str, found: str) -> bool:
    low, high = SUPPORTED[name]
    version = parse_version(found)
    return version < low or (high is not None and version >= high)


def unsupported(versions: dict[str, str], server: str = "werkzeug") -> str | None:
    """Why this runtime cannot be judged, naming the version found and the
    range; None when it can. A missing posthog is no reason: an app without
    PostHog is judged (and fails every PostHog rule)."""
    where = sys.executable
    for name in ("python", "flask", "werkzeug", "posthog"):
        found = versions.get(name)
        if found is None:
            if name in ("flask", "werkzeug"):
                return (
                    f"{name} is not installed in the app's interpreter ({where}): "
                    "install the app's requirements there, or pass --posthog-install"
                )
            continue
        if _outside(name, found):
            return (
                f"{name} {found} is outside the range posthog-verify supports "
                f"({name}{describe_range(name)}) in the app's interpreter ({where}): "
                f"install a supported {name} there"
            )
    if server == "gunicorn" and "gunicorn" not in versions:
        return (
            f"--posthog-server gunicorn, but gunicorn is not installed in the app's "
            f"interpreter ({where}): install it there"
        )
    return None


def sdk_exit_flush(posthog_version: str | None) -> str:
    """What the SDK itself does with queued events at interpreter exit, for
    messages; the newest behaviour when the version is unknown."""
    if posthog_version is None or parse_version(posthog_version) >= EXIT_BUDGET_SINCE:
        return "the SDK's own 1 s exit budget"
    return (
        f"the SDK's own exit join (posthog {posthog_version} < 7.39 finishes the batch in "
        "flight and drops what is queued behind it)"
    )


def _needs_newer(uses: str, api: str, found: str | None) -> str | None:
    since = SDK_API_SINCE[api]
    if found is None or parse_version(found) >= since:
        return None
    return (
        f"the app {uses}, which posthog {found} does not have (it ships from posthog "
        f"{'.'.join(map(str, since))} on, in the app's interpreter {sys.executable}): "
        "install the app's requirements there, or pass --posthog-install"
    )


def missing_sdk_module(name: str, versions: dict[str, str]) -> str | None:
    """Why importing ``name`` failed when the installed SDK predates it: the
    environment's fault (the app needs a newer posthog), not the app's."""
    modules = (m for m in SDK_API_SINCE if m.startswith("posthog."))
    api = next((m for m in modules if name == m or name.startswith(f"{m}.")), None)
    if api is None:
        return None
    return _needs_newer(f"imports {name}", api, versions.get("posthog"))


_UNEXPECTED_KEYWORD = re.compile(r"^(\w+)\(\) got an unexpected keyword argument '(\w+)'$")


def missing_sdk_api(exc: BaseException, versions: dict[str, str]) -> str | None:
    """Why ``exc`` was raised when it is the app calling an API of
    :data:`SDK_API_SINCE` the installed SDK predates (an ``AttributeError``
    on a client, a ``TypeError`` for a keyword it does not take); None for
    any other exception, which is judged as the app's own."""
    found = versions.get("posthog")
    if isinstance(exc, AttributeError) and exc.name is not None:
        owner = type(getattr(exc, "obj", None))
        if owner.__module__.split(".")[0] == "posthog":
            api = f"Client.{exc.name}"
            if api in SDK_API_SINCE:
                return _needs_newer(f"calls {owner.__name__}.{exc.name}()", api, found)
        return None
    matched = _UNEXPECTED_KEYWORD.match(str(exc)) if isinstance(exc, TypeError) else None
    if matched is not None:
        api = f"{matched[1]}({matched[2]}=)"
        if api in SDK_API_SINCE:
            return _needs_newer(f"calls {matched[1]}({matched[2]}=...)", api, found)
    return None
