"""Nothing leaves the machine: the network guard installed in the app's process.

Every ``requests`` call (the PostHog SDK's session included) whose URL is not
the loopback mock is either redirected to the mock, when its path is
PostHog-shaped or its host is a PostHog host, with the original host in the
``X-Posthog-Verify-Original-Host`` header, or refused with a
``ConnectionError``. Under that, a socket guard refuses any connection to a
non-loopback address, whatever library made it. Each redirect or refusal is
reported through ``emit("outbound", ...)``::

    guard = NetworkGuard("http://127.0.0.1:8123", instrumentation.emit)
    guard.install()
    requests.post("https://us.i.posthog.com/batch/", json={...})  # lands in the mock
    requests.get("https://example.com/")  # ConnectionError, recorded
    guard.uninstall()
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import re
import socket
import typing as t
import urllib.parse

from harness.target.instrument import ORIGINAL_HOST_HEADER

if t.TYPE_CHECKING:
    from collections.abc import Callable

# The paths the PostHog SDKs send to (capture, flags, remote config, surveys).
_POSTHOG_PATH = re.compile(
    r"^/(batch|capture|track|engage|e|i|s|flags|decide|static|array"
    r"|api/feature_flag|api/projects|api/surveys|api/early_access_features)(/|$)"
)
_POSTHOG_HOST = re.compile(r"(^|\.)posthog\.com$")


def is_posthog_shaped(url: str) -> bool:
    """True for a request a PostHog SDK would make (by host or by path)."""
    parts = urllib.parse.urlsplit(url)
    return bool(_POSTHOG_HOST.search(parts.hostname or "") or _POSTHOG_PATH.match(parts.path))


def is_loopback(address: t.Any) -> bool:
    """True for a Unix socket path or a loopback IP; a host name other than
    ``localhost`` is refused unresolved (no DNS lookup leaves either)."""
    if isinstance(address, str | bytes):
        return True
    host = address[0] if isinstance(address, tuple) and address else ""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """Patches ``requests`` (and ``httpx`` when importable) and ``socket``.

    :param mock_url: ``http://127.0.0.1:PORT``, the only outside-process target.
    :param emit: ``emit(kind, **fields)``, the instrumentation's recorder.
    """

    def __init__(self, mock_url: str, emit: Callable[..., None]) -> None:
        self.mock = urllib.parse.urlsplit(mock_url)
        self.emit = emit
        self._patches: list[tuple[t.Any, str, t.Any]] = []

    def install(self) -> None:
        self._patch_requests()
        self._patch_httpx()
        self._patch_socket()

    def uninstall(self) -> None:
        while self._patches:
            owner, name, original = self._patches.pop()
            setattr(owner, name, original)

    def _patch(self, owner: t.Any, name: str, replacement: t.Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def route(self, url: str, via: str) -> tuple[str | None, str]:
        """``(new_url, original_host)``: the mock URL to use instead, or None
        to refuse. A URL already addressed to the mock is returned as is."""
        parts = urllib.parse.urlsplit(url)
        if (parts.hostname, parts.port) == (self.mock.hostname, self.mock.port):
            return url, ""
        if not is_posthog_shaped(url):
            reason = "not a PostHog request: posthog-verify lets nothing leave the machine"
            self.emit("outbound", action="refused", url=url, via=via, reason=reason)
            return None, parts.netloc
        new = parts._replace(scheme=self.mock.scheme, netloc=self.mock.netloc)
        self.emit("outbound", action="redirected", url=url, via=via, original_host=parts.netloc)
        return urllib.parse.urlunsplit(new), parts.netloc

    def _patch_requests(self) -> None:
        try:
            import requests
            from requests.adapters import HTTPAdapter
        except ImportError:
            return
        original = HTTPAdapter.send
        guard = self

        @functools.wraps(original)
        def send(adapter: t.Any, request: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            new_url, original_host = guard.route(request.url, "requests")
            if new_url is None:
                raise requests.exceptions.ConnectionError(
                    f"posthog-verify refused an outbound request to {request.url}",
                    request=request,
                )
            if new_url != request.url:
                request.url = new_url
                request.headers.pop("Host", None)
                request.headers[ORIGINAL_HOST_HEADER] = original_host
            return original(adapter, request, *args, **kwargs)

        self._patch(HTTPAdapter, "send", send)

    def _patch_httpx(self) -> None:
        try:
            import httpx
        except ImportError:
            return
        guard = self

        def rewrite(request: t.Any) -> None:
            new_url, original_host = guard.route(str(request.url), "httpx")
            if new_url is None:
                raise httpx.ConnectError(
                    f"posthog-verify refused an outbound request to {request.url}",
                    request=request,
                )
            if new_url != str(request.url):
                request.url = httpx.URL(new_url)
                request.headers["Host"] = request.url.netloc.decode("ascii")
                request.headers[ORIGINAL_HOST_HEADER] = original_host

        sync_send = httpx.HTTPTransport.handle_request
        async_send = httpx.AsyncHTTPTransport.handle_async_request

        def handle_request(transport: t.Any, request: t.Any) -> t.Any:
            rewrite(request)
            return sync_send(transport, request)

        async def handle_async_request(transport: t.Any, request: t.Any) -> t.Any:
            rewrite(request)
            return await async_send(transport, request)

        self._patch(httpx.HTTPTransport, "handle_request", handle_request)
        self._patch(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)

    def _patch_socket(self) -> None:
        connect = socket.socket.connect
        connect_ex = socket.socket.connect_ex
        create_connection = socket.create_connection
        guard = self

        def refuse(address: t.Any) -> OSError:
            guard.emit("outbound", action="refused", url=repr(address), via="socket")
            text = f"posthog-verify refused a connection to non-loopback {address!r}"
            return ConnectionRefusedError(errno.ECONNREFUSED, text)

        def guarded_connect(sock: socket.socket, address: t.Any) -> None:
            if not is_loopback(address):
                raise refuse(address)
            connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: t.Any) -> int:
            if not is_loopback(address):
                refuse(address)
                return errno.ECONNREFUSED
            return connect_ex(sock, address)

        @functools.wraps(create_connection)
        def guarded_create_connection(address: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            if not is_loopback(address):  # before any DNS lookup
                raise refuse(address)
            return create_connection(address, *args, **kwargs)

        self._patch(socket.socket, "connect", guarded_connect)
        self._patch(socket.socket, "connect_ex", guarded_connect_ex)
        self._patch(socket, "create_connection", guarded_create_connection)
