"""Benchmark: the mock's peak memory under big posts, with and without its budget.

    python bench/mock_memory.py [POSTS] [MB]     # default: twenty 60 MB posts

Each measurement runs in a fresh process: a CaptureServer (the default budget,
then no budget to speak of) receives POSTS batches of MB megabytes each, one
after the other, from a client in another process; the server process's peak
RSS is printed. Asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import resource
import subprocess
import sys

from harness.capture import CaptureServer
from harness.capture import CaptureStore
from harness.limits import DEFAULT_BUDGET_BYTES


def _client(port: int, posts: int, megabytes: int) -> None:
    blob = "x" * (megabytes * 1024 * 1024)
    for i in range(posts):
        event = {"event": "e", "distinct_id": "d", "uuid": f"u{i}", "properties": {"blob": blob}}
        body = json.dumps({"api_key": "phc_bench", "batch": [event]}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
        conn.close()


def _server(budget: int, posts: int, megabytes: int) -> None:
    with CaptureServer(CaptureStore(budget_bytes=budget)) as mock:
        client = [sys.executable, __file__, "client", str(mock.port), str(posts), str(megabytes)]
        subprocess.run(client, check=True)
        kept = mock.store.kept_bytes
        requests = len(mock.store.requests())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"budget {budget / 2**20:10.0f} MiB: peak {peak_mib:7.0f} MiB, kept {kept / 2**20:6.0f} "
        f"MiB of {requests} requests"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["client"]:
        _client(int(argv[1]), int(argv[2]), int(argv[3]))
        return
    if argv[:1] == ["server"]:
        _server(int(argv[1]), int(argv[2]), int(argv[3]))
        return
    posts, megabytes = (int(argv[0]), int(argv[1])) if len(argv) == 2 else (20, 60)
    for budget in (DEFAULT_BUDGET_BYTES, 2**50):
        cmd = [sys.executable, __file__, "server", str(budget), str(posts), str(megabytes)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
