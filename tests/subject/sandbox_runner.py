"""Verify apps and print what the sandbox tests read, as one JSON document.

``python sandbox_runner.py WORKDIR APP...``: run inside the test's harness
namespace, where the fake outside world is reachable.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from harness.checks import run_checks
from harness.verify import Options
from harness.verify import verify_app


def main() -> None:
    workdir = Path(sys.argv[1])
    out = {}
    for root in sys.argv[2:]:
        run = verify_app(Path(root), name=Path(root).name, options=Options(workdir=workdir))
        out[Path(root).name] = {
            "isolation": run.isolation,
            "connections": [dataclasses.asdict(c) for c in run.connections],
            "bodies": [x.body_excerpt for x in run.exchanges if x.path == "/"],
            "no_env_served": run.no_env_boot.served if run.no_env_boot else None,
            "statuses": {r.check_id: r.status.value for r in run_checks(run)},
            "events": len(run.events),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
