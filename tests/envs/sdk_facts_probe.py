"""Run in an app's interpreter: exercise one SDK fact against the mock at argv[2].

The facts the checks rest on (docs/checks.md), measured per SDK version by
``test_envs_sdk_facts.py``: ``context``, ``sync``, ``retry``, ``exit`` (a
normal interpreter exit without ``shutdown()``), ``flask`` (the Flask
integration's properties), ``module_without_key`` (a module-level call
with no key), ``held_batch`` (``shutdown()`` under a long ``flush_interval``),
``apis`` (each API of
``harness.subject.runtime.SDK_API_SINCE`` used as an app uses it, and what the
harness makes of the exception when this SDK lacks it: the app side's modules
are on ``PYTHONPATH``). Prints one JSON line of what it saw.
"""

from __future__ import annotations

import json
import sys
import time
import typing as t

import posthog
from posthog import Posthog

KEY = "phc_posthogverify_test_sdkfacts"
FACT, HOST = sys.argv[1], sys.argv[2]


def client(**kwargs: t.Any) -> Posthog:
    return Posthog(KEY, host=HOST, enable_exception_autocapture=False, **kwargs)


def context() -> dict[str, t.Any]:
    names = ("new_context", "identify_context", "tag", "set_context_session")
    out: dict[str, t.Any] = {"api": [n for n in names if hasattr(posthog, n)]}
    c = client()
    with posthog.new_context():
        posthog.identify_context("ctx-user")
        posthog.tag("plan", "pro")
        posthog.set_context_session("ctx-session")
        c.capture("in_context")
    c.shutdown()
    return out


def sync() -> dict[str, t.Any]:
    c = client(sync_mode=True)
    started = time.monotonic()
    c.capture("sync_event", distinct_id="u1")
    out: dict[str, t.Any] = {"returned_after_s": time.monotonic() - started}
    try:
        c.shutdown()
    except Exception as exc:  # posthog 6.0.0: a sync client has no consumers to join
        out["shutdown_error"] = f"{type(exc).__name__}: {exc}"
    return out


def retry() -> dict[str, t.Any]:
    c = client()
    c.capture("retried", distinct_id="u1")
    c.flush()
    c.shutdown()
    return {}


def exit_without_shutdown() -> dict[str, t.Any]:
    c = client()
    c.capture("at_exit", distinct_id="u1")
    return {}  # the interpreter exits normally; only the SDK's own atexit runs


def flask() -> dict[str, t.Any]:
    try:
        from posthog.integrations.flask import PosthogFlaskIntegration
    except ImportError:
        return {"integration": False}
    from flask import Flask

    c = client()
    app = Flask("facts")
    PosthogFlaskIntegration(app, client=c)

    @app.get("/hello")
    def hello() -> str:
        c.capture("in_view")
        return "ok"

    app.test_client().get(
        "/hello",
        headers={
            "X-POSTHOG-DISTINCT-ID": "header-user",
            "X-POSTHOG-SESSION-ID": "header-session",
            "User-Agent": "facts-agent/1",
        },
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    c.shutdown()
    return {"integration": True}


def module_without_key() -> dict[str, t.Any]:
    """A module-level capture with no key set, the module disabled."""
    posthog.disabled = True
    try:
        posthog.capture("no_key", distinct_id="u1")
    except Exception as exc:
        return {"raised": f"{type(exc).__name__}: {exc}"}
    return {"raised": None}


def held_batch() -> dict[str, t.Any]:
    """shutdown() of a client whose flush_interval is long: does it wait for
    the interval (the consumer still collecting its batch) or send now?"""
    import threading

    c = client(flush_interval=60)
    c.capture("held", distinct_id="u1")
    stopping = threading.Thread(target=c.shutdown, daemon=True)
    stopping.start()
    stopping.join(10)  # the bound: a prompt shutdown takes milliseconds
    return {"shut_down_within_10_s": not stopping.is_alive()}


def apis() -> dict[str, t.Any]:
    import importlib

    from harness.subject.runtime import missing_sdk_api
    from harness.subject.runtime import missing_sdk_module
    from harness.subject.runtime import package_versions

    c = client()
    uses: dict[str, t.Callable[[], object]] = {
        "posthog.integrations.flask": lambda: importlib.import_module("posthog.integrations.flask"),
        "new_context(client=)": lambda: posthog.new_context(client=c),
        "Client.evaluate_flags": lambda: c.evaluate_flags,
    }
    seen: dict[str, t.Any] = {}
    for name, use in uses.items():
        try:
            use()
        except ModuleNotFoundError as exc:
            seen[name] = missing_sdk_module(str(exc.name), package_versions())
        except Exception as exc:
            seen[name] = missing_sdk_api(exc, package_versions()) or repr(exc)
        else:
            seen[name] = None
    c.shutdown()
    return {"apis": seen}


FACTS = {"context": context, "sync": sync, "retry": retry, "exit": exit_without_shutdown}
FACTS |= {"flask": flask, "apis": apis, "module_without_key": module_without_key}
FACTS["held_batch"] = held_batch
print(json.dumps({"posthog": posthog.VERSION, **FACTS[FACT]()}), flush=True)
if FACT == "held_batch":
    import os

    os._exit(0)  # a held consumer would keep the interpreter's exit waiting
