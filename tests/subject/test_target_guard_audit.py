"""The guard's audit hook: what no patch of ``socket`` sees, it records, and
under the fallback it refuses. Each case runs in a sandbox (its own network
namespace), so even a guard that failed to refuse could send nothing anywhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from harness.subject import sandbox

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or sandbox.isolation() != sandbox.NAMESPACES,
    reason="network namespaces are unavailable here (CI runs as root, where they are)",
)

SCRIPT = """
import json, subprocess, sys
import _socket, socket
from harness.subject.outbound import NetworkGuard, only_loopback
records = []
guard = NetworkGuard("http://127.0.0.1:9", lambda kind, **f: records.append((kind, f)),
                     step=lambda: 4, kernel_isolated={isolated})
guard.install()
results = {{}}
def attempt(name, action):
    try:
        action()
        results[name] = "ok"
    except OSError as exc:
        results[name] = f"{{type(exc).__name__}}: {{exc}}"
raw = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
attempt("raw", lambda: raw.connect(("203.0.113.9", 443)))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
attempt("udp", lambda: udp.sendto(b"x", ("203.0.113.9", 53)))
attempt("dns", lambda: socket.getaddrinfo("outside.example", 80))
attempt("loopback", lambda: socket.getaddrinfo("127.0.0.1", 80))
subprocess.run(["true"], check=True)
guard.uninstall()
attempt("after", lambda: socket.getaddrinfo("localhost", 80))
print(json.dumps({{"results": results, "records": [f for k, f in records if k == "connection"],
                  "only_loopback": only_loopback()}}))
"""


def _run(tmp_path: Path, isolated: bool) -> dict[str, object]:
    code = SCRIPT.format(isolated=isolated)
    exit_code, tail = sandbox.run_sandboxed(
        [sys.executable, "-c", code], tmp_path, dict(os.environ), 30.0, tmp_path / "log"
    )
    assert exit_code == 0, tail
    data: dict[str, object] = json.loads(tail.strip().splitlines()[-1])
    return data


def _rows(data: dict[str, object]) -> list[tuple[object, ...]]:
    records = data["records"]
    assert isinstance(records, list)
    return [(r["host"], r["port"], r["protocol"], r["outcome"], r["step"]) for r in records]


def test_under_the_fallback_the_hook_refuses_raw_sockets_udp_and_lookups(tmp_path: Path) -> None:
    data = _run(tmp_path, isolated=False)
    results = data["results"]
    assert isinstance(results, dict)
    assert results["raw"].startswith("ConnectionRefusedError")
    assert "posthog-verify refused a connection to non-loopback" in results["raw"]
    assert results["udp"].startswith("ConnectionRefusedError")
    assert (
        results["dns"]
        == "gaierror: [Errno -2] posthog-verify refused a lookup of 'outside.example'"
    )
    assert results["loopback"] == "ok"
    assert _rows(data) == [
        ("203.0.113.9", 443, "tcp", "refused", 4),
        ("203.0.113.9", 53, "udp", "refused", 4),
        ("outside.example", 80, "dns", "refused", 4),
        ("true", None, "process", "unseen", 4),
    ]
    assert results["after"] == "ok"  # uninstalled: the hook stays, inert


def test_in_the_namespace_the_hook_records_and_the_kernel_refuses(tmp_path: Path) -> None:
    data = _run(tmp_path, isolated=True)
    results = data["results"]
    assert isinstance(results, dict)
    assert data["only_loopback"] is True
    assert results["raw"] == "OSError: [Errno 101] Network is unreachable"
    assert "Network is unreachable" in results["udp"]
    assert results["dns"].startswith("gaierror")  # no resolver is reachable
    assert _rows(data) == [
        ("203.0.113.9", 443, "tcp", "unreachable", 4),
        ("203.0.113.9", 53, "udp", "unreachable", 4),
        ("outside.example", 80, "dns", "unreachable", 4),
        ("true", None, "process", "contained", 4),
    ]
