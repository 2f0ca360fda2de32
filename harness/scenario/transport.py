"""How the driver talks to an app: over HTTP, or through Flask's test client.

Both transports keep cookies across calls (a browser session) and never follow
redirects (the driver does, so each hop is its own recorded exchange)::

    transport = HttpTransport("http://127.0.0.1:5123")
    response = transport.request("GET", "/", headers={}, timeout=5.0)
    response.status, response.headers["Content-Type"]

A request that gets no answer raises :class:`TransportError` with a
:class:`FailureKind`: ``refused`` means the app is gone (the driver stops),
``timeout`` and ``failed`` do not.
"""

from __future__ import annotations

import dataclasses
import enum
import queue
import threading
import typing as t

import requests

from harness.subject.runtime import CLIENT_ADDRESS

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.test import TestResponse


@dataclasses.dataclass(frozen=True)
class TransportResponse:
    """An answer. ``url`` is the absolute URL requested; ``headers`` joins a
    repeated header (``Set-Cookie``) with ``", "``."""

    status: int
    headers: dict[str, str]
    text: str
    url: str


class FailureKind(enum.StrEnum):
    TIMEOUT = "timeout"  # no answer within the deadline; the app may still be alive
    REFUSED = "refused"  # nothing listens: the app is gone
    FAILED = "failed"  # reset, malformed answer, or the app raised through the test client


class TransportError(Exception):
    """A request that got no HTTP answer."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(f"{kind.value}: {detail}")


class Transport(t.Protocol):
    """What the driver needs from a way of reaching the app."""

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: t.Mapping[str, str],
        data: t.Mapping[str, str] | None = None,
        json: t.Any = None,
        timeout: float,
        cookies: bool = True,
    ) -> TransportResponse:
        """Send one request; ``cookies=False`` sends none and keeps none
        (a visitor without the session). Raises :class:`TransportError`."""
        ...

    def clear_cookies(self) -> None:
        """Forget the session (used when the app's logout cannot be performed)."""
        ...

    def close(self) -> None: ...


def _refused(error: BaseException) -> bool:
    """Whether a requests/urllib3 error chain bottoms out in a refused connect."""
    seen: set[int] = set()
    pending: list[t.Any] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if isinstance(current, BaseException):
            pending += [current.__cause__, current.__context__, getattr(current, "reason", None)]
            pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


class HttpTransport:
    """A real HTTP client (``requests``) for an app served by a real server.

    Proxies from the environment are ignored (``trust_env = False``): the app
    is on loopback, and nothing may leave the machine.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: t.Mapping[str, str],
        data: t.Mapping[str, str] | None = None,
        json: t.Any = None,
        timeout: float,
        cookies: bool = True,
    ) -> TransportResponse:
        session = self._session if cookies else self._new_session()
        try:
            response = session.request(
                method,
                self.base_url + path,
                headers=dict(headers),
                data=data,
                json=json,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout as error:
            raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s") from error
        except requests.RequestException as error:
            kind = FailureKind.REFUSED if _refused(error) else FailureKind.FAILED
            raise TransportError(kind, f"{type(error).__name__}: {error}") from error
        finally:
            if not cookies:
                session.close()
        joined = {key: ", ".join(response.raw.headers.getlist(key)) for key in response.headers}
        return TransportResponse(response.status_code, joined, response.text, response.url)

    def clear_cookies(self) -> None:
        self._session.cookies.clear()

    def close(self) -> None:
        self._session.close()


class FlaskClientTransport:
    """Flask's test client, for an app in this process (a user's own suite).

    The app's config is left as it is: the harness never turns on ``TESTING``,
    because then a view's exception propagates into the caller instead of
    becoming the app's 500. If the app has it on, such a request fails with
    :attr:`FailureKind.FAILED` naming the exception.

    The test client has no timeout, so each request runs in a daemon thread
    and is abandoned at the deadline; an abandoned request may still finish
    later and touch the cookie jar.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._client = app.test_client()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: t.Mapping[str, str],
        data: t.Mapping[str, str] | None = None,
        json: t.Any = None,
        timeout: float,
        cookies: bool = True,
    ) -> TransportResponse:
        client = self._client if cookies else self.app.test_client(use_cookies=False)
        kwargs: dict[str, t.Any] = {"method": method, "headers": dict(headers)}
        # The address the app sees is a canary, as under the harness's server.
        kwargs["environ_base"] = {"REMOTE_ADDR": CLIENT_ADDRESS}
        if json is not None:
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = dict(data)
        answers: queue.Queue[TestResponse | BaseException] = queue.Queue(maxsize=1)

        def call() -> None:
            try:
                answers.put(client.open(path, **kwargs))
            except BaseException as error:  # handed to the caller, never lost
                answers.put(error)

        threading.Thread(target=call, name=f"pv-client {method} {path}", daemon=True).start()
        try:
            answer = answers.get(timeout=timeout)
        except queue.Empty:
            raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s") from None
        if isinstance(answer, BaseException):
            detail = f"the app raised through the test client: {type(answer).__name__}: {answer}"
            raise TransportError(FailureKind.FAILED, detail)
        return _from_test_response(answer)

    def clear_cookies(self) -> None:
        self._client = self.app.test_client()  # a fresh client has an empty jar

    def close(self) -> None:
        """Nothing to release: the test client holds no connection."""


def _from_test_response(response: TestResponse) -> TransportResponse:
    # Werkzeug's Headers iterates (key, value) pairs, hence keys()
    names = response.headers.keys()
    joined = {key: ", ".join(response.headers.getlist(key)) for key in names}
    return TransportResponse(
        status=response.status_code,
        headers=joined,
        text=response.get_data(as_text=True),
        url=response.request.url,
    )
