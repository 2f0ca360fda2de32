"""The in-process front end: PostHog traffic to the store, everything else refused."""

from __future__ import annotations

import pytest
import requests
from posthog import Posthog

from harness.capture import RequestKind
from harness.capture import intercept
from harness.capture import is_posthog_host


def test_non_posthog_request_is_refused_and_recorded() -> None:
    with intercept() as mock:
        with pytest.raises(requests.ConnectionError) as info:
            requests.post("https://api.stripe.com/v1/charges", data=b"amount=1")
        (refused,) = mock.refused()
    message = str(info.value)
    assert "https://api.stripe.com/v1/charges" in message
    assert "refused by posthog-verify" in message
    assert (refused.kind, refused.host, refused.path, refused.body) == (
        RequestKind.REFUSED,
        "api.stripe.com",
        "/v1/charges",
        b"amount=1",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://us.i.posthog.com/batch/",
        "https://eu.i.posthog.com/anything",
        "https://proxy.example.com/i/v0/e/",
        "http://localhost:8000/flags/?v=4",
    ],
)
def test_posthog_shaped_requests_reach_the_store(url: str) -> None:
    with intercept() as mock:
        response = requests.post(url, json={"api_key": "k", "batch": []})
        (request,) = mock.store.requests()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert request.kind is not RequestKind.REFUSED


def test_sdk_session_with_custom_adapter_is_intercepted() -> None:
    with intercept() as mock:
        client = Posthog("phc_k", host="https://us.i.posthog.com", gzip=True)
        uuid = client.capture("ev", distinct_id="d")
        client.shutdown()
        assert [e.uuid for e in mock.store.events()] == [uuid]
        assert mock.store.requests()[0].host == "us.i.posthog.com"


def test_dropped_request_raises_connection_error() -> None:
    with intercept() as mock:
        mock.faults.drop_next()
        with pytest.raises(requests.ConnectionError, match="dropped by a posthog-verify fault"):
            requests.post("https://us.i.posthog.com/batch/", json={"batch": []})
        assert mock.store.requests()[0].status == 0


def test_nothing_is_intercepted_after_exit() -> None:
    with intercept() as mock:
        pass
    # a real (loopback, closed-port) connection attempt, no longer ours
    with pytest.raises(requests.ConnectionError) as info:
        requests.get("http://127.0.0.1:1/batch/", timeout=2)
    assert "posthog-verify" not in str(info.value)
    assert mock.store.requests() == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("us.i.posthog.com", True),
        ("posthog.com:443", True),
        ("EU.PostHog.com", True),
        ("notposthog.com", False),
        ("posthog.com.evil.io", False),
    ],
)
def test_is_posthog_host(host: str, expected: bool) -> None:
    assert is_posthog_host(host) is expected
