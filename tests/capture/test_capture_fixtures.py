"""posthog_mock / posthog_events, as a user's own test suite sees them."""

from __future__ import annotations

import os
import pathlib

import pytest

import harness

# The package is not installed: the subprocess finds it through PYTHONPATH.
REPO_ROOT = str(pathlib.Path(harness.__file__).resolve().parent.parent)

USER_TESTS = """
import pytest
import requests
from posthog import Posthog


@pytest.fixture
def client():
    c = Posthog("phc_user", host="https://us.i.posthog.com")
    yield c
    c.shutdown()


def test_events_helpers(client, posthog_mock, posthog_events):
    client.capture("signed_up", distinct_id="u1", properties={"plan": "pro"})
    client.set(distinct_id="u1", properties={"email": "a@x.io"})
    client.capture("viewed", distinct_id="u2")
    client.flush()
    assert len(posthog_events.wait(3)) == 3
    assert len(posthog_events) == 3
    assert [e.event for e in posthog_events.named("signed_up")] == ["signed_up"]
    assert {e.event for e in posthog_events.for_distinct_id("u1")} == {"signed_up", "$set"}
    assert [e.set for e in posthog_events.persons()] == [{"email": "a@x.io"}]
    assert [e.event for e in posthog_events][-1] == "viewed"


def test_each_test_starts_empty(posthog_events):
    assert len(posthog_events) == 0


def test_faults_reach_the_sdk(client, posthog_mock, posthog_events):
    posthog_mock.faults.fail_next(status=503)
    client.capture("retried", distinct_id="u1")
    client.flush()
    posthog_events.wait(2, timeout=5)
    assert [e.acknowledged for e in posthog_events] == [False, True]


def test_other_hosts_refused(posthog_mock):
    with pytest.raises(requests.ConnectionError, match="refused by posthog-verify"):
        requests.get("https://example.org/")
    assert posthog_mock.refused()[0].host == "example.org"


def test_wait_fails_with_a_readable_message(posthog_events):
    posthog_events.wait(1, timeout=0.05)
"""


def test_fixtures_in_a_user_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
    # Under xdist the inner run must not believe it is a worker (pytest-benchmark
    # would then warn, an error under -W error).
    # No conftest: installing the package registers the plugin, which serves
    # the fixtures, exactly as a user gets them.
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["*expected at least 1 PostHog event(s) within 0.05s, got 0*client.flush()*"]
    )


LEAK_TESTS = """
from posthog import Posthog

LEFT = []


def test_a_queues_without_flushing(posthog_events):
    client = Posthog("phc_synthetic_fixture_test", host="https://us.i.posthog.com")
    client.capture("from_a", distinct_id="a")
    LEFT.append(client)  # the test forgets to flush


def test_b_does_not_receive_what_a_left_queued(posthog_events):
    LEFT[0].flush()  # whatever A's client still holds would land in B's mock now
    assert [e.event for e in posthog_events] == []
"""


def test_a_tests_queued_events_do_not_leak_into_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=LEAK_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
