"""Fake Runs with the shared fields other branches fill (steps with decisions and
failures, set-up commands, isolation, connections, versions), for report tests."""

from __future__ import annotations

from harness.run import AppRef
from harness.run import ConnectionAttempt
from harness.run import Exchange
from harness.run import Run
from harness.run import SetupCommand
from harness.run import SourceLocation
from harness.run import StepFailure


def fake_run(name: str, *, failing_step: bool = False) -> Run:
    exchanges = [
        Exchange(0, "anon_browse", "browse", "GET", "/", {}, 200, expected="2xx|3xx"),
        Exchange(
            1,
            "signup",
            "signup",
            "POST",
            "/signup",
            {},
            302,
            form={"email": "e", "password": "p"},
            expected="2xx|3xx",
            decisions=("found the signup form at /signup (templates/signup.html)",),
        ),
        Exchange(
            2,
            "api_action",
            "api",
            "POST",
            "/api/notes",
            {},
            500 if failing_step else 201,
            json={"text": "t"},
            expected="2xx|3xx",
            failure=StepFailure(
                "sqlite3.OperationalError: no such table: note",
                SourceLocation("app/views.py", 42),
                "Traceback ...\nsqlite3.OperationalError: no such table: note",
            )
            if failing_step
            else None,
        ),
        Exchange(3, "probe", "probe", "GET", "/__posthog_verify__/raise", {}, None, error="reset"),
    ]
    return Run(
        app=AppRef(name, f"/apps/{name}", target="app:create_app", found_by="convention"),
        exchanges=tuple(exchanges),
        steps_skipped={"logout": "the app has no logout route"},
        isolation="network+pid namespaces",
        connections=(ConnectionAttempt("api.stripe.com", 443, "tcp", "unreachable", step=1),),
        setup=(SetupCommand(("flask", "init-db"), "the app registers init-db", 0, 0.4, "ok"),),
        versions={"python": "3.11.7", "flask": "3.1.0", "posthog": "7.9.0"},
    )
