"""A ``.env`` loaded with ``override=True`` cannot replace what the harness injects."""

from __future__ import annotations

import json
from pathlib import Path

from harness.verify import verify_app

APP = Path(__file__).resolve().parents[1] / "apps" / "faulty" / "dotenv_override"


def test_injected_token_and_host_win_over_the_apps_dotenv() -> None:
    run = verify_app(APP, name="dotenv_override")
    first = run.exchanges[0]
    assert first.status == 200
    served = json.loads(first.body_excerpt)
    assert served == {"token": run.token, "extra": None}
    captured = [e for e in run.events if e.event == "page_viewed"]
    assert captured
    assert {e.api_key for e in captured} == {run.token}
    assert all(r.original_host is None for r in run.requests)
