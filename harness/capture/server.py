"""The loopback front end: a real HTTP server for an app in another process.

It binds ``127.0.0.1`` on a free port, hands every request to a
:class:`~harness.capture.store.CaptureStore`, and sends the store's reply::

    with CaptureServer() as server:
        env = {"POSTHOG_HOST": server.url}
        ...  # run the app, drive it, stop it
        server.store.wait_for(lambda s: len(s.events()) >= 1, timeout=5.0)

HTTP/1.1 keep-alive works with the SDK's pooled ``requests.Session``: every
answer carries ``Content-Length``. The server copes with garbage (a request
line that is not HTTP, a wrong ``Content-Length``, a truncated body): it
records what it can as ``MALFORMED``, answers 400 when it still can, and keeps
serving. Anything that raises inside a handler thread is queued in the store
(``store.check()`` re-raises it).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
import time
import types
import typing as t
import urllib.parse
from pathlib import Path

from harness.capture.faults import Faults
from harness.capture.store import CaptureStore

_MAX_BODY = 64 * 1024 * 1024
_MAX_LINE = 65536


class CaptureServer:
    """A loopback PostHog mock; ``url`` is what to give the app as its host.

    :param read_timeout: seconds a connection may sit idle (or stall inside a
        body) before the server closes it.
    :param unix_socket: also listen on a Unix socket in a private temporary
        folder (``unix_path``), removed on :meth:`stop`.
    """

    def __init__(
        self,
        store: CaptureStore | None = None,
        *,
        read_timeout: float = 10.0,
        unix_socket: bool = False,
    ) -> None:
        self.store = store if store is not None else CaptureStore()
        self._httpd = _HTTPServer(self.store, read_timeout)
        self._thread: threading.Thread | None = None
        self._unix: _UnixHTTPServer | None = None
        self._unix_thread: threading.Thread | None = None
        if unix_socket:
            # Short, private and ours: a Unix socket path is limited to ~107 bytes.
            folder = tempfile.mkdtemp(prefix="phv-mock-")
            self._unix = _UnixHTTPServer(self.store, read_timeout, str(Path(folder) / "mock"))

    @property
    def unix_path(self) -> str | None:
        """The Unix socket's path, when the server listens on one."""
        return None if self._unix is None else str(self._unix.server_address)

    @property
    def faults(self) -> Faults:
        return self.store.faults

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CaptureServer:
        if self._thread is not None:
            raise RuntimeError("CaptureServer is already started")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"posthog-verify-mock:{self.port}",
            daemon=True,
        )
        self._thread.start()
        if self._unix is not None:
            self._unix_thread = threading.Thread(
                target=self._unix.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="posthog-verify-mock-unix",
                daemon=True,
            )
            self._unix_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, cut open connections, wait for handlers (bounded)."""
        deadline = time.monotonic() + timeout
        self._httpd.stopping.set()  # wakes handlers held by a delay fault
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()
        for thread in self._httpd.handler_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._unix is not None:
            self._stop_unix(deadline)

    def _stop_unix(self, deadline: float) -> None:
        assert self._unix is not None
        self._unix.stopping.set()
        if self._unix_thread is not None:
            self._unix.shutdown()
            self._unix_thread.join(max(0.0, deadline - time.monotonic()))
            self._unix_thread = None
        self._unix.close_connections()
        self._unix.server_close()
        for thread in self._unix.handler_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        shutil.rmtree(Path(str(self._unix.server_address)).parent, ignore_errors=True)

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()


class _Tracking:
    """What the handler needs of its server, on TCP and on a Unix socket alike."""

    store: CaptureStore
    read_timeout: float
    stopping: threading.Event
    server_address: t.Any

    def _init_tracking(self, store: CaptureStore, read_timeout: float) -> None:
        self.store = store
        self.read_timeout = read_timeout
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}

    def host_fallback(self) -> str:
        """The Host to assume when a request names none."""
        address = self.server_address
        return f"127.0.0.1:{address[1]}" if isinstance(address, tuple) else "localhost"

    def track(self, conn: socket.socket, active: bool) -> None:
        with self._lock:
            if active:
                self._conns[conn] = threading.current_thread()
            else:
                self._conns.pop(conn, None)

    def handler_threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._conns.values())

    def close_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        # Only reached for errors outside _Handler's own guard (setup/finish).
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            self.store.record_error(exc)


class _HTTPServer(_Tracking, http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() joins with a deadline instead
    request_queue_size = 128

    def __init__(self, store: CaptureStore, read_timeout: float) -> None:
        self._init_tracking(store, read_timeout)
        super().__init__(("127.0.0.1", 0), _Handler)


class _UnixHTTPServer(_Tracking, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, store: CaptureStore, read_timeout: float, path: str) -> None:
        self._init_tracking(store, read_timeout)
        super().__init__(path, _Handler)


class _BadRequest(Exception):
    """A request the server could read only in part; the message is the reason."""

    def __init__(self, reason: str, body: bytes = b"") -> None:
        super().__init__(reason)
        self.body = body


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answer unparseable garbage with a status line, not as HTTP/0.9 (bare body).
    default_request_version = "HTTP/1.0"
    server: _HTTPServer | _UnixHTTPServer

    def setup(self) -> None:
        # typeshed declares ``timeout`` a ClassVar, but StreamRequestHandler.setup()
        # reads it from the instance: a per-server value belongs here.
        self.timeout = self.server.read_timeout  # type: ignore[misc]
        super().setup()
        self.server.track(self.connection, active=True)

    def finish(self) -> None:
        self.server.track(self.connection, active=False)
        with contextlib.suppress(OSError):  # the peer went away; nothing to flush
            super().finish()

    def handle_one_request(self) -> None:
        try:
            self._one_request()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True
        except Exception as exc:  # a bug in the mock: queue it, keep serving
            self.close_connection = True
            self.server.store.record_error(exc)

    def _one_request(self) -> None:
        # The handler object lives as long as the connection: forget the last request.
        self.command, self.path, self.headers = None, "", None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.requestline = ""
        self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.raw_requestline.strip():
            self.send_error(400, "blank request line")
            return
        if len(self.raw_requestline) > _MAX_LINE:
            self.send_error(414, "request line too long")
            return
        if not self.parse_request():
            return  # parse_request answered through send_error, which recorded it
        self._serve()
        self.wfile.flush()

    def _serve(self) -> None:
        scheme, host, path, query = self._target()
        headers = dict(self.headers.items())
        try:
            body = self._read_body()
        except _BadRequest as bad:
            self.close_connection = True
            self.server.store.record_malformed(
                self.command, host, path, headers, bad.body, str(bad), scheme=scheme, query=query
            )
            self._send(400, json.dumps({"detail": str(bad)}).encode(), "application/json")
            return
        reply = self.server.store.handle(self.command, scheme, host, path, query, headers, body)
        if reply.delay_s > 0 and self.server.stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply.status, reply.body, reply.content_type)

    def _target(self) -> tuple[str, str, str, str]:
        """Scheme, host, path, query; an absolute-form target (a proxy
        request) names its own host."""
        host = self.headers.get("Host") or self.server.host_fallback()
        if self.path.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(self.path)
            return parts.scheme, parts.netloc or host, parts.path or "/", parts.query
        path, _, query = self.path.partition("?")
        return "http", host, path, query

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw.strip())
        except ValueError:
            raise _BadRequest(f"invalid Content-Length {raw!r}") from None
        if length < 0:
            raise _BadRequest(f"invalid Content-Length {raw!r}")
        if length > _MAX_BODY:
            raise _BadRequest(f"Content-Length {length} exceeds the mock's {_MAX_BODY} limit")
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        chunks: list[bytes] = []
        got = 0
        while got < length:
            try:
                chunk = self.rfile.read1(length - got)
            except TimeoutError:
                raise _BadRequest(
                    f"timed out reading the body: Content-Length {length}, received {got}",
                    b"".join(chunks),
                ) from None
            if not chunk:
                raise _BadRequest(
                    f"body truncated: Content-Length {length}, received {got}", b"".join(chunks)
                )
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(f"bad chunk size line {line[:40]!r}", body) from None
            if size < 0 or len(body) + size > _MAX_BODY:
                raise _BadRequest(f"bad chunk size {size}", body)
            if size == 0:
                while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body
            body += self._read_exactly(size)
            self.rfile.readline(_MAX_LINE + 1)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Record a request the stdlib parser rejected, then answer it."""
        self._record_unparsed(code, f"not a valid HTTP request ({code}): {message or ''}".strip())
        super().send_error(code, message, explain)

    def _record_unparsed(self, status: int, reason: str) -> None:
        path = getattr(self, "path", "") or ""
        headers = dict(self.headers.items()) if getattr(self, "headers", None) else {}
        self.server.store.record_malformed(
            getattr(self, "command", None) or "",
            headers.get("Host", ""),
            path.partition("?")[0],
            headers,
            bytes(getattr(self, "raw_requestline", b"")),
            reason,
            status=status,
        )

    def log_message(self, format: str, *args: t.Any) -> None:
        """Silent: the store is the log."""
