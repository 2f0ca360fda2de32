"""Ground truth for the standalone apps whose steps fail or need a second
look, proven without the harness (Flask's test client, HTTP intercepted):

- ``integration_teardown_exit``: every request raises the integration's
  TypeError in its teardown hook, after the view's capture call ran;
- ``signup_then_login``: the signup identifies the user but leaves them
  logged out (redirect to the login page); only the login starts a session;
- ``settings_error_at_boot``: the factory refuses to start without
  ``INVENTORY_DATABASE_URL``, and serves once it is set.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import typing as t
from pathlib import Path

import pytest
import responses
from corpus_drive import HOST
from corpus_drive import TARGET_APPS
from corpus_drive import TOKEN
from corpus_drive import Seen
from corpus_drive import _intercept
from corpus_drive import finish
from corpus_drive import isolated_import
from corpus_drive import sdk_sandbox


@contextlib.contextmanager
def loaded(name: str, module: str, **env: str) -> t.Iterator[tuple[t.Any, Seen]]:
    """The app's module, PostHog env set to a host ``responses`` answers."""
    seen = Seen()
    saved = dict(os.environ)
    os.environ.update({"POSTHOG_PROJECT_TOKEN": TOKEN, "POSTHOG_HOST": HOST, **env})
    try:
        with sdk_sandbox(seen), responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            _intercept(seen, rsps)
            try:
                with isolated_import(TARGET_APPS / name, module) as mod:
                    yield mod, seen
            finally:
                finish(seen)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("path", ["/", "/signup", "/notes"])
def test_integration_teardown_exit_raises_on_every_request(path: str) -> None:
    with loaded("integration_teardown_exit", "wsgi") as (mod, seen):
        with pytest.raises(TypeError, match=r"__exit__\(\) missing 2 required") as caught:
            mod.app.test_client().get(path)
        frames = traceback.extract_tb(caught.value.__traceback__)
        assert Path(frames[-1].filename).name == "wsgi.py"
        assert frames[-1].name == "close_posthog_context"
    if path == "/":  # the view ran first: its event was sent before the crash
        assert [e["event"] for e in seen.events] == ["home_viewed"]


def test_signup_then_login_signup_leaves_the_user_logged_out() -> None:
    with loaded("signup_then_login", "ledger") as (mod, seen):
        client = mod.create_app().test_client()
        form = {"email": "a@example.org", "name": "A", "password": "pw-123456", "confirm": "pw"}
        signup = client.post("/join", data=form)
        assert (signup.status_code, signup.headers["Location"]) == (302, "/session/new")
        assert client.get("/ledger").headers["Location"] == "/session/new"  # no session
        login = client.post("/session/new", data={"email": form["email"], "password": "pw-123456"})
        assert login.headers["Location"] == "/ledger"
        assert client.get("/ledger").status_code == 200
    person = [e for e in seen.events if e["event"] == "$set"]
    ids = {e["distinct_id"] for e in seen.events if e["event"] != "ledger_home_viewed"}
    assert len(person) == 2
    assert len(ids) == 1  # signup, login and the ledger all carry the same user id


def test_settings_error_at_boot_needs_its_database_setting() -> None:
    with loaded("settings_error_at_boot", "inventory") as (mod, _):
        os.environ.pop("INVENTORY_DATABASE_URL", None)
        with pytest.raises(RuntimeError, match="INVENTORY_DATABASE_URL must be set"):
            mod.create_app()
    with loaded("settings_error_at_boot", "inventory", INVENTORY_DATABASE_URL="sqlite://") as (
        mod,
        seen,
    ):
        assert mod.create_app().test_client().get("/").status_code == 200
    assert [e["event"] for e in seen.events] == ["stock_viewed"]
