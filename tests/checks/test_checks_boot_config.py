"""boots, boots_without_posthog_env, key_from_env, host_from_env, single_client,
exception_autocapture: the good run passes; each defect fails with its evidence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from checks_runs import CLIENT
from checks_runs import SPECS
from checks_runs import build
from checks_runs import edit
from checks_runs import good_run

import harness.checks as harness_checks
from harness.checks import boots
from harness.checks import boots_without_posthog_env
from harness.checks import exception_autocapture
from harness.checks import host_from_env
from harness.checks import key_from_env
from harness.checks import single_client
from harness.checks.boot import traceback_tail
from harness.run import BootFailure
from harness.run import NoEnvBoot
from harness.run import Phase
from harness.run import SourceLocation
from harness.run import StaticFacts
from harness.verdict import Status

KEY_ERROR = (
    "Traceback (most recent call last):\n"
    '  File "/apps/reference/app.py", line 8, in <module>\n'
    '    KEY = os.environ["POSTHOG_API_KEY"]\n'
    "KeyError: 'POSTHOG_API_KEY'\n"
)


@pytest.mark.parametrize(
    "check",
    [
        boots,
        boots_without_posthog_env,
        key_from_env,
        host_from_env,
        single_client,
        exception_autocapture,
    ],
    ids=lambda f: f.__name__,
)
def test_good_run_passes(check) -> None:
    assert check(good_run()).status is Status.PASS


def _first_get_answers(status: int, body: str = ""):
    run = good_run()
    first = dataclasses.replace(run.exchanges[0], status=status, body_excerpt=body)
    return dataclasses.replace(run, exchanges=(first, *run.exchanges[1:]))


def test_boots_fails_on_a_5xx_quoting_the_response() -> None:
    verdict = boots(_first_get_answers(500, "Internal Server Error: db missing"))
    assert verdict.status is Status.FAIL
    assert verdict.summary == "GET / answered 500: the app does not serve"
    assert verdict.evidence[0]["value"] == "Internal Server Error: db missing"
    assert verdict.evidence[0]["request"] == "GET / (step 0: anon_browse)"


def test_boots_passes_on_a_404() -> None:
    assert boots(_first_get_answers(404)).status is Status.PASS


def test_boots_errors_when_nothing_was_sent() -> None:
    assert boots(good_run(exchanges=())).status is Status.ERROR


def test_boots_without_env_warns_with_traceback_and_unset_names() -> None:
    failure = BootFailure(Phase.IMPORT, "the module raised", app_raised=True, detail=KEY_ERROR)
    no_env = NoEnvBoot(served=False, status=None, unset=("POSTHOG_API_KEY",), failure=failure)
    verdict = boots_without_posthog_env(good_run(no_env_boot=no_env))
    assert verdict.status is Status.WARN
    assert "KeyError: 'POSTHOG_API_KEY'" in verdict.summary
    assert verdict.evidence[0]["location"] == "app.py:8"
    assert verdict.evidence[0]["unset"] == "POSTHOG_API_KEY"


def test_boots_without_env_warns_on_a_5xx() -> None:
    no_env = NoEnvBoot(served=True, status=500, unset=("POSTHOG_API_KEY",))
    verdict = boots_without_posthog_env(good_run(no_env_boot=no_env))
    assert verdict.status is Status.WARN
    assert "status 500" in verdict.summary


def test_key_from_env_fails_on_another_key_redacted() -> None:
    run = build(edit(SPECS, "note_created", api_key="phc_hardcoded_in_source_123"))
    verdict = key_from_env(run)
    assert verdict.status is Status.FAIL
    assert verdict.summary == "1 of 11 events carry another key"
    item = verdict.evidence[0]
    assert (item["event"], item["value"]) == ("note_created", "phc_hard…")
    assert "phc_hardcoded_in_source_123" not in repr(verdict)


def test_key_from_env_fails_on_a_literal_key_in_the_tree() -> None:
    site = SourceLocation("config.py", 3, 'KEY = "phc_abcdef1234567890"')
    verdict = key_from_env(good_run(static=StaticFacts(literal_keys=(site,))))
    assert verdict.status is Status.FAIL
    assert "config.py:3" in verdict.summary
    assert verdict.evidence[0]["value"] == 'KEY = "phc_ab…"'


@pytest.mark.parametrize(
    "path", ["app/templates/base.html", "static/js/analytics.js", "app/templates/page.j2"]
)
def test_a_project_key_in_a_frontend_file_is_a_note_not_a_failure(path: str) -> None:
    site = SourceLocation(path, 12, "posthog.init('phc_abcdef1234567890', {api_host: ...})")
    verdict = key_from_env(good_run(static=StaticFacts(literal_keys=(site,))))
    assert verdict.status is Status.PASS
    assert f"the frontend's public project key at {path}:12 is not judged" in verdict.summary
    assert "public by design" in verdict.evidence[0]["note"]
    assert "phc_abcdef1234567890" not in repr(verdict)


@pytest.mark.parametrize("path", [".env", "config/settings.yaml", "deploy.sh", "settings.toml"])
def test_a_literal_key_in_server_configuration_still_fails(path: str) -> None:
    frontend = SourceLocation("app/templates/base.html", 12, "posthog.init('phc_abcdef123456')")
    site = SourceLocation(path, 2, "POSTHOG_API_KEY=phc_abcdef1234567890")
    verdict = key_from_env(good_run(static=StaticFacts(literal_keys=(frontend, site))))
    assert verdict.status is Status.FAIL
    assert f"a literal key is in the source at {path}:2" in verdict.summary
    assert "base.html" not in verdict.summary


def test_key_from_env_fails_when_no_event_arrived() -> None:
    verdict = key_from_env(good_run(events=()))
    assert (verdict.status, verdict.summary) == (Status.FAIL, "no event reached the mock")


def test_host_from_env_fails_on_a_redirected_request_with_the_hardcoded_site() -> None:
    run = good_run()
    redirected = dataclasses.replace(run.requests[0], original_host="us.i.posthog.com")
    site = SourceLocation("app.py", 13, 'host="https://us.i.posthog.com"')
    run = dataclasses.replace(
        run, requests=(redirected, *run.requests[1:]), static=StaticFacts(hardcoded_hosts=(site,))
    )
    verdict = host_from_env(run)
    assert verdict.status is Status.FAIL
    assert "us.i.posthog.com" in verdict.summary
    assert "app.py:13" in verdict.summary
    assert verdict.evidence[0]["value"] == "us.i.posthog.com"
    assert verdict.evidence[1]["location"] == "app.py:13"


def test_host_from_env_fails_when_no_capture_request_arrived() -> None:
    verdict = host_from_env(good_run(requests=()))
    assert verdict.summary == "no capture request reached the mock"


def test_single_client_fails_on_clients_built_per_request() -> None:
    per_request = tuple(
        dataclasses.replace(
            CLIENT, client_id=i, phase="request", step=i, location=SourceLocation("views.py", 21)
        )
        for i in range(3)
    )
    verdict = single_client(good_run(clients=per_request))
    assert verdict.status is Status.FAIL
    assert verdict.summary == "3 keyed clients were built: built per request (3 during requests)"
    assert [e["location"] for e in verdict.evidence] == ["views.py:21"] * 3
    assert "phc_veri…" in repr(verdict.evidence[0]["value"])
    assert "k7q2abcdef" not in repr(verdict)


def test_single_client_ignores_an_unkeyed_client_and_fails_with_none() -> None:
    unkeyed = dataclasses.replace(CLIENT, api_key=None)
    verdict = single_client(good_run(clients=(unkeyed,)))
    assert (verdict.status, verdict.summary) == (
        Status.FAIL,
        "no PostHog client with an api key was built",
    )


def test_exception_autocapture_fails_quoting_site_and_kwargs() -> None:
    off = dataclasses.replace(CLIENT, kwargs={"project_api_key": "x", "host": "h"})
    verdict = exception_autocapture(good_run(clients=(off,)))
    assert verdict.status is Status.FAIL
    assert "app.py:12" in verdict.summary
    assert verdict.evidence[0]["location"] == "app.py:12"
    assert verdict.evidence[0]["value"]["host"] == "h"


def test_traceback_location_is_the_apps_own_frame_relative_to_the_copy_that_ran() -> None:
    harness = str(Path(harness_checks.__file__).resolve().parents[1])
    detail = (
        "Traceback (most recent call last):\n"
        '  File "/tmp/pv-1/main/shop/app/__init__.py", line 38, in create_app\n'
        "    client = Posthog(api_key=key)\n"
        f'  File "{harness}/target/instrument.py", line 293, in init\n'
        "    return original_init(client, *args, **kwargs)\n"
        "TypeError: unexpected keyword argument 'api_key'\n"
    )
    last, location = traceback_tail(detail, ("/tmp/pv-1/main/shop", "/home/me/shop"))
    assert (last, location) == (
        "TypeError: unexpected keyword argument 'api_key'",
        "app/__init__.py:38",
    )
