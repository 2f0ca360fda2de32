"""A minimal W3C WebDriver client over chromedriver's HTTP API (``requests`` only).

Enough to open a page, click, read text and take a screenshot, so the grade
book is tested in a real browser without adding selenium to the test extra::

    with chromium() as browser:
        browser.get(path.as_uri())
        browser.click("#grid thead th[data-key=score]")
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import typing as t
from pathlib import Path

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
]
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"


def binaries() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class Browser:
    def __init__(self, base: str, session: str) -> None:
        self.base = f"{base}/session/{session}"

    def _call(self, method: str, path: str, payload: dict[str, t.Any] | None = None) -> t.Any:
        response = requests.request(method, self.base + path, json=payload, timeout=30)
        data = response.json()
        if response.status_code != 200:
            raise AssertionError(f"webdriver {method} {path}: {data}")
        return data["value"]

    def get(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def find_all(self, css: str) -> list[str]:
        found = self._call("POST", "/elements", {"using": "css selector", "value": css})
        return [item[ELEMENT] for item in found]

    def find(self, css: str) -> str:
        found = self.find_all(css)
        if not found:
            raise AssertionError(f"no element matches {css!r}")
        return found[0]

    def click(self, css: str) -> None:
        self._call("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return str(self._call("GET", f"/element/{self.find(css)}/text"))

    def texts(self, css: str) -> list[str]:
        return [str(self._call("GET", f"/element/{e}/text")) for e in self.find_all(css)]

    def script(self, source: str, *args: t.Any) -> t.Any:
        return self._call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def select(self, css: str, value: str) -> None:
        """Choose an option of a ``<select>`` as a user would (change event included)."""
        self.click(f"{css} option[value='{value}']")

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], deadline_s: float) -> None:
    """Poll chromedriver's /status until it says ready, within a deadline."""
    deadline = time.monotonic() + deadline_s
    pause = threading.Event()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"chromedriver exited with {process.returncode}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{base}/status", timeout=2).json()["value"]["ready"]:
                return
        pause.wait(0.05)
    raise AssertionError(f"chromedriver was not ready within {deadline_s} s")


@contextlib.contextmanager
def chromium() -> t.Iterator[Browser]:
    found = binaries()
    if found is None:
        raise AssertionError(f"chromium and chromedriver are needed: {INSTALL}")
    browser_path, driver_path = found
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [driver_path, f"--port={port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    profile = tempfile.mkdtemp(prefix="posthog-verify-chromium-")
    try:
        _wait_ready(base, process, 20.0)
        options = {"binary": browser_path, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {"alwaysMatch": {"goog:chromeOptions": options}}
        created = requests.post(
            f"{base}/session", json={"capabilities": capabilities}, timeout=60
        ).json()["value"]
        if "sessionId" not in created:
            raise AssertionError(f"chromedriver refused the session: {created}")
        try:
            yield Browser(base, created["sessionId"])
        finally:
            requests.delete(f"{base}/session/{created['sessionId']}", timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
