"""Checks on how the client is configured: key, host, one client, autocapture.

Behaviour first (which key each event carried, which host each batch was sent
to, which clients the process built); the source (``Run.static``) is quoted
only for what behaviour cannot show, a literal key or a hardcoded host::

    key_from_env(run).status   # Status.PASS when every event carried run.token
"""

from __future__ import annotations

import typing as t
import urllib.parse

from harness.capture.records import RequestKind
from harness.checks._events import evidence
from harness.checks._events import plural
from harness.checks._events import redact_keys_in
from harness.checks._events import redact_token
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import ClientConstruction
    from harness.run import Run
    from harness.run import SourceLocation

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_SECRET_KWARGS = frozenset({"api_key", "project_api_key", "personal_api_key"})


#: Files a browser gets (templates, scripts): a ``phc_`` key there is the
#: frontend snippet's project key, public by design (posthog-js needs it in the
#: page), not the server SDK's: noted, never judged.
FRONTEND_SUFFIXES = frozenset(
    {".html", ".htm", ".j2", ".jinja", ".jinja2", ".js", ".mjs", ".jsx", ".ts", ".tsx", ".vue"}
)


def _frontend(site: SourceLocation) -> bool:
    name = site.file.rsplit("/", 1)[-1].lower()
    return any(name.endswith(suffix) for suffix in FRONTEND_SUFFIXES)


def key_from_env(run: Run) -> Result:
    """Every event carried the injected token and no ``phc_`` literal is in the
    server's source or configuration; one in a frontend file is a note."""
    check = "key_from_env"
    events = unique_events(run)
    items = [
        evidence(
            event=event,
            value=redact_token(event.api_key),
            note=f"expected the injected token {redact_token(run.token)}",
        )
        for event in events
        if event.api_key != run.token
    ]
    server_sites = [site for site in run.static.literal_keys if not _frontend(site)]
    browser_sites = [site for site in run.static.literal_keys if _frontend(site)]
    literals = [
        evidence(location=site, value=redact_keys_in(site.text) or None, note="literal key")
        for site in server_sites
    ]
    notes = [
        evidence(
            location=site,
            value=redact_keys_in(site.text) or None,
            note=(
                "a project key in a file the browser gets (the posthog-js snippet): public "
                "by design, not the server SDK's key; not judged"
            ),
        )
        for site in browser_sites
    ]
    if not events:
        return result(check, Status.FAIL, "no event reached the mock", literals + notes)
    if items or literals:
        parts = []
        if items:
            parts.append(f"{len(items)} of {plural(len(events), 'event')} carry another key")
        if literals:
            where = ", ".join(str(site) for site in server_sites[:3])
            parts.append(f"a literal key is in the source at {where}")
        return result(check, Status.FAIL, "; ".join(parts), items + literals + notes)
    summary = f"all {plural(len(events), 'event')} carried the injected token"
    if browser_sites:
        summary += f" (the frontend's public project key at {browser_sites[0]} is not judged)"
    return result(check, Status.PASS, summary, notes)


def _host_port(host: str) -> tuple[str, str]:
    """``(hostname, port)`` of a URL or a ``host:port``, loopback names folded."""
    parsed = urllib.parse.urlsplit(host if "//" in host else f"//{host}")
    name = (parsed.hostname or "").lower()
    name = "loopback" if name in _LOOPBACK or name.strip("[]") in _LOOPBACK else name
    port = str(parsed.port or "") if parsed.port else ""
    return name, port


def _same_host(addressed: str, mock_host: str) -> bool:
    a_name, a_port = _host_port(addressed)
    m_name, m_port = _host_port(mock_host)
    return a_name == m_name and (not a_port or not m_port or a_port == m_port)


def host_from_env(run: Run) -> Result:
    """Every capture request was addressed to the injected (mock) host."""
    check = "host_from_env"
    captures = [r for r in run.requests if r.kind is RequestKind.CAPTURE]
    if not captures:
        return result(check, Status.FAIL, "no capture request reached the mock")
    items = []
    for request in captures:
        addressed = request.original_host or request.host
        if request.original_host is None and (
            not run.mock_host or _same_host(addressed, run.mock_host)
        ):
            continue
        items.append(
            {
                "request": f"{request.method} {request.path} (capture request #{request.seq})",
                "value": addressed,
                "note": f"sent to {addressed}, not the injected host {run.mock_host}",
            }
        )
    if not items:
        return result(
            check,
            Status.PASS,
            f"all {plural(len(captures), 'capture request')} went to the injected host",
        )
    sites = [evidence(location=s, value=s.text or None) for s in run.static.hardcoded_hosts]
    hosts = sorted({item["value"] for item in items})
    summary = (
        f"{len(items)} of {plural(len(captures), 'capture request')} were addressed to "
        f"{', '.join(hosts)}, not the injected host"
    )
    if sites:
        summary += f" (hardcoded at {run.static.hardcoded_hosts[0]})"
    return result(check, Status.FAIL, summary, items + sites)


def keyed_clients(run: Run) -> list[ClientConstruction]:
    """The clients that could send anything: those built with a non-empty key."""
    return [client for client in run.clients if client.api_key]


def _safe_kwargs(kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: redact_token(str(v)) if k in _SECRET_KWARGS else v for k, v in kwargs.items()}


def _construction(client: ClientConstruction) -> dict[str, t.Any]:
    step = "" if client.step is None else f", step {client.step}"
    return evidence(
        location=client.location,
        value=_safe_kwargs(client.kwargs),
        note=f"client {client.client_id} ({client.via}) built at {client.phase}{step}",
    )


def single_client(run: Run) -> Result:
    """Exactly one keyed client was built in the process."""
    check = "single_client"
    clients = keyed_clients(run)
    if not clients:
        return result(check, Status.FAIL, "no PostHog client with an api key was built")
    if len(clients) == 1:
        only = clients[0]
        where = f" at {only.location}" if only.location else ""
        return result(check, Status.PASS, f"one client ({only.via}) built at {only.phase}{where}")
    pids = [client.pid for client in clients]
    if None not in pids and len(set(pids)) == len(pids):
        # gunicorn workers: "single" means one client per worker process.
        return result(
            check,
            Status.PASS,
            f"one client in each of {len(pids)} worker processes, built at "
            f"{', '.join(sorted({c.phase for c in clients}))}",
        )
    during = [client for client in clients if client.phase == "request"]
    summary = f"{len(clients)} keyed clients were built"
    if len(during) >= 2:
        summary += f": built per request ({len(during)} during requests)"
    return result(check, Status.FAIL, summary, [_construction(c) for c in clients])


def _autocapture_on(client: ClientConstruction) -> bool:
    value = client.kwargs.get("enable_exception_autocapture")
    return value is True or value == "True"


def exception_autocapture(run: Run) -> Result:
    """Every keyed client was built with ``enable_exception_autocapture=True``."""
    check = "exception_autocapture"
    clients = keyed_clients(run)
    if not clients:
        return result(check, Status.FAIL, "no PostHog client with an api key was built")
    off = [client for client in clients if not _autocapture_on(client)]
    if not off:
        return result(
            check,
            Status.PASS,
            f"{plural(len(clients), 'client')} built with enable_exception_autocapture=True",
        )
    items = [_construction(client) for client in off]
    for site in run.static.constructions:
        if site.autocapture is not True:
            items.append(evidence(location=site.location, value=site.kwargs, note="in the source"))
    first = off[0]
    where = f" at {first.location}" if first.location else ""
    return result(
        check,
        Status.FAIL,
        f"client {first.client_id} ({first.via}) built{where} without "
        "enable_exception_autocapture=True",
        items,
    )
