"""Ground truth for the target-app corpus, proven without the harness.

Every app is booted in this process, driven through the docs/checks.md
scenario with Flask's test client, and what really reached the wire is judged
by :func:`truth`, a deliberately simple reading of each check. The verdicts
must equal ``target_apps/expectations.toml``: so every broken app really has
its defect (and only it), and every correct app really is correct.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from corpus_drive import ANON_ID
from corpus_drive import CANARIES
from corpus_drive import SESSION_ID
from corpus_drive import TARGET_APPS
from corpus_drive import TOKEN
from corpus_drive import Routes
from corpus_drive import Seen
from corpus_drive import booted
from corpus_drive import drive_app

from harness.checks.ids import GUIDANCE_IDS
from target_apps.materialize import app_dir

EXPECTATIONS = tomllib.loads((TARGET_APPS / "expectations.toml").read_text())["apps"]
# The guidance rules; the claim checks compare with a baseline, a report or a plan,
# which this independent drive does not read (their own tests do).
CHECKS = list(GUIDANCE_IDS)
LITERAL_KEY = re.compile(r"phc_[A-Za-z0-9]{20,}")
ANON_STEPS = ("anon_browse", "probe", "anon_after_logout")
PERSON_FIELDS = ("$set", "$set_once")
SDK_MADE = ("$set", "$feature_flag_called")


def _user_id_after(seen: Seen, step: str, later: tuple[str, ...]) -> str | None:
    """The id ``step`` identified the user as, if it did so properly (else None)."""
    ids = {e["distinct_id"] for e in seen.person_updates(step)}
    if len(ids) != 1 or set(seen.flag_ids) & set(CANARIES.values()):
        return None  # flags evaluated for personal data name a second person
    (uid,) = ids
    events = seen.in_step(*later)
    if uid in CANARIES.values() or uid == ANON_ID or not events:
        return None
    for event in events:
        if (
            event["distinct_id"] != uid
            or event["properties"].get("$process_person_profile") is False
        ):
            return None
    return uid


def _pii(seen: Seen) -> str:
    hits = []
    for event in seen.events:
        # $ip is the Flask integration's (a warning), unless scrubbed
        props = {k: v for k, v in event["properties"].items() if k not in (*PERSON_FIELDS, "$ip")}
        text = json.dumps(props).lower()
        hits += [kind for kind, value in CANARIES.items() if value.lower() in text]
    if hits:
        return "fail"
    return "warn" if any("$ip" in e["properties"] for e in seen.events) else "pass"


def _exception_ok(seen: Seen) -> bool:
    errors = [e for e in seen.in_step("probe") if e["event"] == "$exception"]
    if len(errors) != 1 or seen.status["probe"] < 500:
        return False
    first = errors[0]["properties"]["$exception_list"][0]
    follows_header = any(e["distinct_id"] == ANON_ID for e in seen.events)
    right_id = errors[0]["distinct_id"] == ANON_ID or not follows_header
    return first["type"] == "RuntimeError" and "boom" in first["value"] and right_id


def _flushed(seen: Seen) -> bool:
    # Only a registered shutdown/flush delivers: the SDK's own Client._atexit
    # gives up after 1 s, which a single retried batch already exceeds.
    flushes = [fn for fn in seen.atexit_calls if fn.__name__ in ("shutdown", "flush")]
    registered = {id(getattr(fn, "__self__", seen.default_client)) for fn in flushes}
    # The harness refuses the first batch after the stop: a client that never
    # retries loses whatever it still had to send.
    return bool(seen.enqueued) and all(
        uuid in seen.delivered_before_stop
        or (id(seen.enqueued_by[uuid]) in registered and seen.enqueued_by[uuid].max_retries > 0)
        for uuid in seen.enqueued
    )


def truth(seen: Seen, root: Path) -> dict[str, str]:
    """Each check's verdict, read simply from what reached the wire."""
    keyed = seen.keyed_clients()
    sources = "".join(p.read_text() for p in root.rglob("*.py"))
    hosts = {urlsplit(url).netloc for url in seen.urls}
    signup_id = _user_id_after(seen, "signup", ("dashboard", "api_action"))
    login_id = _user_id_after(seen, "login", ("dashboard_again",))
    anon = seen.in_step(*ANON_STEPS)
    # The SDK's own events (person updates, a flag evaluation's) may lack it.
    sessioned = [e for e in seen.events if e["_step"] and e["event"] not in SDK_MADE]
    calls = bool(seen.enqueued or seen.module_calls)
    dropped = any(uuid is None for _, uuid in seen.module_calls) or not set(seen.enqueued) <= {
        e["uuid"] for e in seen.events
    }
    verdicts = {
        "boots": seen.status["anon_browse"] < 500,
        "key_from_env": bool(seen.events)
        and all(e["_api_key"] == TOKEN for e in seen.events)
        and not LITERAL_KEY.search(sources),
        "host_from_env": bool(seen.urls) and hosts == {"posthog.invalid.test"},
        "single_client": len(keyed) == 1,
        "exception_autocapture": bool(keyed) and all(c.enable_exception_autocapture for c in keyed),
        "exception_captured": _exception_ok(seen),
        "flush_on_shutdown": _flushed(seen),
        "identify_on_signup": signup_id is not None,
        "identify_on_login": login_id is not None and login_id == signup_id,
        "distinct_id_from_header": bool(anon) and all(e["distinct_id"] == ANON_ID for e in anon),
        "session_id_from_header": bool(sessioned)
        and all(e["properties"].get("$session_id") == SESSION_ID for e in sessioned),
    }
    out = {check: "pass" if ok else "fail" for check, ok in verdicts.items()}
    out["no_pii_in_events"] = _pii(seen) if seen.events else "skip"
    out["no_silent_drops"] = ("fail" if dropped else "pass") if calls else "skip"
    return out


def _boots_without_env(root: Path, tmp_path: Path) -> str:
    try:
        with booted(root, tmp_path / "noenv", env={}) as (app, _):
            status = app.test_client().get("/").status_code
    except Exception:
        return "warn"
    return "pass" if status < 500 else "warn"


# Apps whose ground truth this simple reading cannot give say why: `ground_truth`
# (a shape the driver does not know; proven in tests/subject/test_target_setup_apps.py)
# or `proven_by` (an app that cannot serve, a signup that does not log in).
SIMPLE = sorted(
    name
    for name, app in EXPECTATIONS.items()
    if "proven_by" not in app and "ground_truth" not in app
)


@pytest.mark.parametrize("name", SIMPLE)
def test_app_really_behaves_as_expected(name: str, tmp_path: Path) -> None:
    root = app_dir(name)
    expected = {c: EXPECTATIONS[name]["expect"][c] for c in CHECKS}
    try:
        with drive_app(root, tmp_path) as seen:
            verdicts = truth(seen, root)
    except Exception as exc:  # the app's own code raised at import or in its factory
        verdicts = dict.fromkeys(CHECKS, "error") | {"boots": "fail"}
        verdicts["_raised"] = type(exc).__name__
    else:
        verdicts["boots_without_posthog_env"] = _boots_without_env(root, tmp_path)
    verdicts.pop("_raised", None)
    assert verdicts == expected, {
        c: (verdicts[c], expected[c]) for c in CHECKS if verdicts[c] != expected[c]
    }


def _props(seen: Seen, event: str) -> list[dict[str, t.Any]]:
    return [e["properties"] for e in seen.named(event)]


# What each broken app's defect looks like on the wire, quoted precisely.
DEFECTS: dict[str, t.Callable[[Seen], None]] = {
    "broken_client_per_request": lambda s: len(s.keyed_clients()) >= 8,
    "broken_literal_key": lambda s: (
        {e["_api_key"] for e in s.events} == {"phc_SYNTHETICtestKEYnotRealDoNotUse000000000000"}
    ),
    "broken_hardcoded_host": lambda s: {urlsplit(u).netloc for u in s.urls} == {"us.i.posthog.com"},
    "broken_email_distinct_id": lambda s: (
        s.named("user_signed_up")[0]["distinct_id"] == CANARIES["email"]
    ),
    "broken_pii_text": lambda s: _props(s, "note_created")[0]["text"] == CANARIES["text"],
    "broken_ip_in_props": lambda s: _props(s, "page_viewed")[0]["ip"] == CANARIES["ip"],
    "broken_pii_tag": lambda s: _props(s, "note_created")[0]["email"] == CANARIES["email"],
    "broken_module_capture": lambda s: (
        s.module_calls == [("note_created", None)] and not s.named("note_created")
    ),
    "broken_wrapped_exception": lambda s: (
        [e["properties"]["$exception_list"][0]["type"] for e in s.named("$exception")]
        == ["InternalServerError"]
    ),
    "broken_no_identify_on_login": lambda s: (
        s.named("user_logged_in")[0]["distinct_id"] == ANON_ID and not s.person_updates("login")
    ),
    "broken_headers_ignored": lambda s: (
        ANON_ID not in {e["distinct_id"] for e in s.events}
        and not any("$session_id" in e["properties"] for e in s.events)
    ),
    "correct_flask_integration": lambda s: (
        {e["properties"]["$ip"] for e in s.events if e["event"] != "$set"}
        == {CANARIES["client address"]}
    ),
    "correct_before_send_scrub": lambda s: (
        not any("$ip" in e["properties"] or "email" in e["properties"] for e in s.events)
    ),
    "broken_username_in_props": lambda s: (
        _props(s, "profile_created")[0]["handle"] == CANARIES["username"]
    ),
    "broken_remote_addr_in_props": lambda s: (
        _props(s, "page_viewed")[0]["client"] == CANARIES["client address"]
    ),
    "broken_flag_email_id": lambda s: s.flag_ids == [CANARIES["email"]] * 2,
    "broken_refused_at_stop": lambda s: (
        [c.max_retries for c in s.keyed_clients()] == [0] and not s.delivered_before_stop
    ),
    "correct_form_view_event": lambda s: (
        [e["distinct_id"] for e in s.named("signup_form_viewed")] == ["anonymous"]
    ),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_is_visible_on_the_wire(name: str, tmp_path: Path) -> None:
    with drive_app(app_dir(name), tmp_path) as seen:
        assert DEFECTS[name](seen)


def test_env_at_import_really_crashes_without_env(tmp_path: Path) -> None:
    with (
        pytest.raises(KeyError, match="POSTHOG_PROJECT_TOKEN"),
        booted(app_dir("broken_env_at_import"), tmp_path, env={}),
    ):
        pass


def test_module_level_config_builds_the_default_client(tmp_path: Path) -> None:
    """posthog 7.91: module settings made before the first call shape the default client."""
    with drive_app(app_dir("correct_module_level"), tmp_path) as seen:
        client = seen.default_client
        assert client is not None
        assert client in seen.clients
        assert (client.api_key, client.host) == (TOKEN, "http://posthog.invalid.test")
        assert client.enable_exception_autocapture
        assert not client.disabled
        assert all(uuid for _, uuid in seen.module_calls)


def test_manifest_names_the_apps_real_routes() -> None:
    routes = Routes.for_app(app_dir("manifest_app"))
    assert routes.module == "portal:make_app"
    assert routes.signup_fields["email"] == "user_email"


def _own_suite(name: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "POSTHOG" not in k and k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=app_dir(name),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", ["baseline", "reference"])
def test_apps_own_suite_passes(name: str) -> None:
    proc = _own_suite(name)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "14 passed" in proc.stdout


def test_broken_own_test_really_breaks_one_of_the_apps_tests() -> None:
    proc = _own_suite("broken_own_test")
    assert "1 failed, 13 passed" in proc.stdout, proc.stdout[-2000:]
    assert "FAILED tests/test_app.py::test_signup_form_has_labelled_fields" in proc.stdout


def test_behaviour_variants_really_change_what_the_baseline_does(tmp_path: Path) -> None:
    """What behaviour_preserved sees against the baseline, seen without the harness."""
    signup = {"email": "a@example.com", "name": "A B", "password": "pw-123456", "phone": "1"}
    answers = {}
    for name in ("baseline", "broken_redirect_changed", "broken_form_field_dropped"):
        with booted(app_dir(name), tmp_path / name) as (app, _):
            client = app.test_client()
            form = client.get("/signup").get_data(as_text=True)
            answers[name] = ('name="phone"' in form, client.post("/signup", data=signup))
    assert answers["baseline"][0]
    assert answers["baseline"][1].headers["Location"] == "/dashboard"
    assert answers["broken_redirect_changed"][1].headers["Location"] == "/"
    assert answers["broken_form_field_dropped"][0] is False
