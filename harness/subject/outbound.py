"""Nothing leaves the machine: the network guard installed in the app's process.

Every ``requests`` call (the PostHog SDK's session included) whose URL is not
the loopback mock is either redirected to the mock, when its path is
PostHog-shaped or its host is a PostHog host, with the original host in the
``X-Posthog-Verify-Original-Host`` header, or refused with a
``ConnectionError``. Under that, a socket guard refuses any connection to a
non-loopback address, whatever library made it. Each redirect or refusal is
reported through ``emit("outbound", ...)``, and every attempt, whatever made
it, through ``emit("connection", ...)`` (a :class:`harness.run.ConnectionAttempt`).

Under that, an audit hook (:func:`sys.addaudithook`, which the app cannot
remove) sees what no patch can: ``_socket`` used directly, UDP ``sendto``,
DNS lookups, a session with its own adapter, subprocesses. Inside the
sandbox's network namespace (:mod:`harness.subject.sandbox`: only ``lo``) it
only records, and the kernel answers "unreachable"; without it (the
fallback), it also refuses every non-loopback connection and lookup. A
subprocess it can only record: under the fallback, nothing stops what that
process does::

    guard = NetworkGuard("http://127.0.0.1:8123", instrumentation.emit)
    guard.install()
    requests.post("https://us.i.posthog.com/batch/", json={...})  # lands in the mock
    requests.get("https://example.com/")  # ConnectionError, recorded
    guard.uninstall()
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import re
import socket
import sys
import threading
import typing as t
import urllib.parse

from harness.subject.instrument import ORIGINAL_HOST_HEADER

if t.TYPE_CHECKING:
    from collections.abc import Callable

# The paths the PostHog SDKs send to (capture, flags, remote config, surveys).
_POSTHOG_PATH = re.compile(
    r"^/(batch|capture|track|engage|e|i|s|flags|decide|static|array"
    r"|api/feature_flag|api/projects|api/surveys|api/early_access_features)(/|$)"
)
_POSTHOG_HOST = re.compile(r"(^|\.)posthog\.com$")
_SOCKET_EVENTS = frozenset({"socket.connect", "socket.sendto"})
_DNS_EVENTS = frozenset({"socket.getaddrinfo", "socket.gethostbyname"})
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec"})
_AUDITED = _SOCKET_EVENTS | _DNS_EVENTS | _PROCESS_EVENTS
# Libraries whose own subprocesses are no evidence about the app.
_QUIET_STARTERS = frozenset({"posthog", "distro", "platform"})


def only_loopback() -> bool:
    """True inside a network namespace whose only interface is ``lo`` (the
    sandbox): there the kernel has no route off the machine."""
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False


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
    :param step: the scenario step being served, for the records.
    :param kernel_isolated: the kernel already blocks every route off the
        machine, so the audit hook records without refusing; default: ask
        the kernel (:func:`only_loopback`).
    """

    def __init__(
        self,
        mock_url: str,
        emit: Callable[..., None],
        *,
        step: Callable[[], int | None] = lambda: None,
        kernel_isolated: bool | None = None,
    ) -> None:
        self.mock = urllib.parse.urlsplit(mock_url)
        self.emit = emit
        self.step = step
        self.kernel_isolated = only_loopback() if kernel_isolated is None else kernel_isolated
        self._patches: list[tuple[t.Any, str, t.Any]] = []
        self._active = False
        self._busy = threading.local()

    def install(self) -> None:
        self._patch_requests()
        self._patch_httpx()
        self._patch_socket()
        self._active = True
        sys.addaudithook(self._audit)

    def uninstall(self) -> None:
        """Undo the patches; the audit hook cannot be removed, it goes inert."""
        self._active = False
        while self._patches:
            owner, name, original = self._patches.pop()
            setattr(owner, name, original)

    def connection(
        self, host: str, port: int | None, protocol: str, outcome: str, via: str
    ) -> None:
        """Record one attempt (a :class:`harness.run.ConnectionAttempt`)."""
        fields = {"host": host, "port": port, "protocol": protocol, "outcome": outcome}
        self.emit("connection", **fields, step=self.step(), via=via)

    def _audit(self, event: str, args: tuple[t.Any, ...]) -> None:
        if event not in _AUDITED or not self._active or getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            if event in _SOCKET_EVENTS:
                self._audit_socket(event, args[0], args[1])
            elif event in _DNS_EVENTS:
                self._audit_lookup(args[0], args[1] if len(args) > 1 else None)
            else:
                self._audit_process(event, args)
        finally:
            self._busy.on = False

    def _audit_socket(self, event: str, sock: t.Any, address: t.Any) -> None:
        family = getattr(sock, "family", None)
        if family not in (socket.AF_INET, socket.AF_INET6) or is_loopback(address):
            return
        host, port = (str(address[0]), int(address[1])) if len(address) >= 2 else ("?", None)
        udp = getattr(sock, "type", None) == socket.SOCK_DGRAM
        protocol = "udp" if udp or event == "socket.sendto" else "tcp"
        if self.kernel_isolated:
            self.connection(host, port, protocol, "unreachable", "audit")
            return
        self.connection(host, port, protocol, "refused", "audit")
        text = f"posthog-verify refused a connection to non-loopback {address!r}"
        raise ConnectionRefusedError(errno.ECONNREFUSED, text)

    def _audit_lookup(self, host: t.Any, port: t.Any) -> None:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str) or not host or is_loopback((host, 0)):
            return
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host.split("%")[0])
            return  # a literal address: no lookup; its connect is what counts
        number = port if isinstance(port, int) else None
        if self.kernel_isolated:
            self.connection(host, number, "dns", "unreachable", "audit")
            return
        self.connection(host, number, "dns", "refused", "audit")
        raise socket.gaierror(socket.EAI_NONAME, f"posthog-verify refused a lookup of {host!r}")

    def _audit_process(self, event: str, args: tuple[t.Any, ...]) -> None:
        """A process the app starts: its traffic is beyond this hook. The
        SDK's own (``distro`` runs ``lsb_release`` for ``$os_version``) are
        not the app's doing and are left out."""
        if _started_by_library():
            return
        command = args[1] if event in ("subprocess.Popen", "os.exec", "os.posix_spawn") else args
        if isinstance(command, str | bytes):
            command = [command]
        text = " ".join(str(part) for part in (command or ()))[:200]
        outcome = "contained" if self.kernel_isolated else "unseen"
        self.connection(text or str(args[0]), None, "process", outcome, "audit")

    def _patch(self, owner: t.Any, name: str, replacement: t.Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def route(self, url: str, via: str) -> tuple[str | None, str]:
        """``(new_url, original_host)``: the mock URL to use instead, or None
        to refuse. A URL already addressed to the mock is returned as is."""
        parts = urllib.parse.urlsplit(url)
        if (parts.hostname, parts.port) == (self.mock.hostname, self.mock.port):
            return url, ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not is_posthog_shaped(url):
            reason = "not a PostHog request: posthog-verify lets nothing leave the machine"
            self.emit("outbound", action="refused", url=url, via=via, reason=reason)
            self.connection(parts.hostname or "", port, parts.scheme, "refused", via)
            return None, parts.netloc
        new = parts._replace(scheme=self.mock.scheme, netloc=self.mock.netloc)
        self.emit("outbound", action="redirected", url=url, via=via, original_host=parts.netloc)
        self.connection(parts.hostname or "", port, parts.scheme, "mock", via)
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
            host, port = _host_port(address)
            guard.connection(host, port, "tcp", "refused", "socket")
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


def _host_port(address: t.Any) -> tuple[str, int | None]:
    if isinstance(address, tuple) and len(address) >= 2:
        port = address[1] if isinstance(address[1], int) else None
        return str(address[0]), port
    return repr(address), None


def _started_by_library() -> bool:
    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return False
        name = str(frame.f_globals.get("__name__", ""))
        if name.split(".")[0] in _QUIET_STARTERS:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False
