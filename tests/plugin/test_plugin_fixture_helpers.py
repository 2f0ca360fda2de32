"""posthog_events assertion helpers: subset matching, counts, waiting with a
deadline, and failure messages that list what was captured instead."""

from __future__ import annotations

import pytest

USER_TESTS = """
import threading

import pytest
from posthog import Posthog


@pytest.fixture
def client(posthog_mock):
    c = Posthog("phc_posthogverify_test_helpers", host="https://us.i.posthog.com")
    yield c
    c.shutdown()


def send(client):
    ui = {"theme": "dark", "lang": "en"}
    client.capture("signed_up", distinct_id="u1", properties={"plan": "pro", "ui": ui})
    client.capture("viewed", distinct_id="u2", properties={"page": "/"})
    client.capture("viewed", distinct_id="u2", properties={"page": "/pricing"})
    client.flush()


def test_passes(client, posthog_events):
    send(client)
    posthog_events.wait_for("viewed", count=2, timeout=5)
    (event,) = posthog_events.assert_captured(
        "signed_up", distinct_id="u1", properties={"ui": {"theme": "dark"}}
    )
    assert event.properties["plan"] == "pro"
    posthog_events.assert_captured("viewed", count=2)
    assert posthog_events.count("viewed") == 2
    assert posthog_events.count("viewed", properties={"page": "/pricing"}) == 1
    assert posthog_events.count(distinct_id="u1") == 1
    posthog_events.assert_not_captured("viewed", properties={"page": "/admin"})


def test_wait_for_wakes_on_a_late_batch(client, posthog_events):
    timer = threading.Timer(0.2, lambda: (client.capture("late", distinct_id="u"), client.flush()))
    timer.start()
    try:
        assert len(posthog_events.wait_for("late", timeout=10)) == 1
    finally:
        timer.join()


def test_fail_wrong_property(client, posthog_events):
    send(client)
    posthog_events.wait_for(count=3)
    posthog_events.assert_captured("signed_up", properties={"plan": "free"})


def test_fail_wrong_count(client, posthog_events):
    send(client)
    posthog_events.wait_for(count=3)
    posthog_events.assert_captured("viewed", count=1)


def test_fail_not_captured(client, posthog_events):
    send(client)
    posthog_events.wait_for(count=3)
    posthog_events.assert_not_captured("viewed", distinct_id="u2")


def test_fail_wait_for_deadline(client, posthog_events):
    send(client)
    posthog_events.wait_for("purchased", timeout=0.2)
"""


def test_helpers_both_ways(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*expected an event 'signed_up' with properties including {'plan': 'free'}, found 0."
            " Captured:",
            "  - 'signed_up' distinct_id='u1' properties={'plan': 'pro'*",
            "  - 'viewed' distinct_id='u2' properties={'page': '/'*",
        ]
    )
    result.stdout.fnmatch_lines(["*expected 1 event(s) 'viewed', found 2. Captured:*"])
    result.stdout.fnmatch_lines(
        [
            "*expected no event 'viewed' for distinct_id 'u2', found 2:*",
            "  - 'viewed' distinct_id='u2' properties={'page': '/'*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*expected 1 event(s) 'purchased' within 0.2s, found 0. Did the app call client.flush()?*"]
    )
    # the messages are the failure, not a traceback through the helpers
    result.stdout.no_fnmatch_line("*harness/fixtures.py*")
