"""Canaries: unique per run, realistic, and findable by the detectors checks use."""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from harness.scenario.canary import Identity
from harness.scenario.canary import is_distinctive
from harness.scenario.canary import make_canaries
from harness.scenario.canary import make_identity
from harness.scenario.canary import name_parts
from harness.scenario.canary import new_run_id
from harness.scenario.canary import typed_values
from harness.scenario.canary import username
from harness.subject.manifest import load_manifest

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 NANP: +1, area code NXX, exchange 555, line 0100-0199 (reserved for fiction)
PHONE_RE = re.compile(r"\+1[2-9]\d\d55501\d\d")


def test_canaries_differ_between_runs() -> None:
    first, second = make_canaries(), make_canaries()
    for kind, value in first.pii().items():
        if kind != "client address":  # the address the app sees is one for every run
            assert value != second.pii()[kind], kind
    assert first.probe != second.probe


def test_same_run_id_gives_the_same_values_except_the_password() -> None:
    first, second = make_canaries("abcdefgh"), make_canaries("abcdefgh")
    assert first.password != second.password
    assert {**first.pii(), "password": ""} == {**second.pii(), "password": ""}


def test_shapes() -> None:
    canaries = make_canaries("kqzmxwtbre")
    assert canaries.email == "pv.kqzmxwtbre@example.com"
    assert canaries.name == "Canakqzma Kqzmxwtbreson"
    assert (canaries.first_name, canaries.last_name) == ("Canakqzma", "Kqzmxwtbreson")
    assert canaries.username == "kqzmxwtbreson"
    assert canaries.text.startswith("posthog-verify note kqzmxwtbre")
    assert re.fullmatch(r"\d{3} Canary Street kqzmxwtbre, Springfield", canaries.address)
    assert canaries.probe == "probe-kqzmxwtbre"
    assert PHONE_RE.fullmatch(canaries.phone)
    assert ipaddress.ip_address(canaries.ip) in ipaddress.ip_network("203.0.113.0/24")


def test_detectors_find_them_in_event_text() -> None:
    canaries = make_canaries()
    event = json.dumps({"properties": {"a": canaries.email, "b": [canaries.phone]}})
    assert EMAIL_RE.search(event).group(0) == canaries.email  # type: ignore[union-attr]
    assert PHONE_RE.search(event).group(0) == canaries.phone  # type: ignore[union-attr]
    url = "/x?" + urllib.parse.urlencode({"who": canaries.name, "mail": canaries.email})
    assert canaries.email.lower() in urllib.parse.unquote_plus(url).lower()
    assert canaries.name.lower() in urllib.parse.unquote_plus(url).lower()


def test_ip_is_documentation_range_so_checks_match_it_by_value() -> None:
    # is_global is False for TEST-NET-3: a "public IP" detector will not see it.
    assert ipaddress.ip_address(make_canaries().ip).is_global is False


def test_password_is_strong() -> None:
    password = make_canaries().password
    assert len(password) >= 16
    assert re.search(r"[a-z]", password)
    assert re.search(r"[A-Z]", password)
    assert re.search(r"\d", password)
    assert re.search(r"[^A-Za-z0-9]", password)


def test_names_are_letters_even_for_a_run_id_with_digits() -> None:
    canaries = make_canaries("ab12cd34")
    first, last = name_parts(canaries)
    assert (first, last) == ("Canaabhia", "Abhicdjkson")
    assert username(canaries) == "abhicdjkson"
    assert last.isalpha()
    assert first.isalpha()


def test_identity() -> None:
    assert make_identity("abcdefgh") == Identity("anon-abcdefgh", "sess-abcdefgh")
    assert make_identity().distinct_id != make_identity().distinct_id


def test_new_run_id_is_letters() -> None:
    assert re.fullmatch(r"[a-z]{10}", new_run_id())


@pytest.mark.parametrize("bad", ["", "abc", "UPPER", "has space", "a" * 33, "dash-ed"])
def test_bad_run_id(bad: str) -> None:
    with pytest.raises(ValueError, match="must be 4-32 lower-case letters or digits"):
        make_canaries(bad)


def test_every_typed_value_is_a_canary() -> None:
    """The username and each name part are canaries of their own: the
    username is the last name in lower case, found by one needle."""
    canaries = make_canaries("kqzmxwtbre", typed=["Acme Widgets 42"])
    assert canaries.pii() | {"password": ""} == {
        "email": "pv.kqzmxwtbre@example.com",
        "name": "Canakqzma Kqzmxwtbreson",
        "first name": "Canakqzma",
        "last name (the username)": "Kqzmxwtbreson",
        "phone": canaries.phone,
        "address": canaries.address,
        "text": canaries.text,
        "ip": canaries.ip,
        "client address": "198.51.100.47",
        "password": "",
        "typed value 1": "Acme Widgets 42",
    }


@pytest.mark.parametrize(
    ("value", "distinctive"),
    [
        pytest.param("Acme Widgets 42", True, id="words"),
        pytest.param("ref4471x-k", True, id="letters-and-digits"),
        pytest.param("premium", False, id="a-choice"),
        pytest.param("newsletter", False, id="one-word"),
        pytest.param("on", False, id="short"),
        pytest.param("2000-01-01", False, id="a-date"),
        pytest.param("https://example.com/x1", False, id="a-url"),
        pytest.param("12345678", False, id="digits-only"),
    ],
)
def test_only_distinctive_literals_become_canaries(value: str, distinctive: bool) -> None:
    assert is_distinctive(value) is distinctive


def test_typed_values_are_the_manifests_literals_not_its_placeholders(tmp_path: Path) -> None:
    (tmp_path / "posthog-verify.toml").write_text(
        '[signup]\npath = "/join"\n'
        'fields = { email = "{canary.email}", company = "Acme Widgets 42", plan = "premium" }\n'
        '[[steps]]\nname = "ref"\npath = "/ref"\nmethod = "POST"\n'
        'json = { code = "ref4471x-k", who = "{canary.first_name} Jr." }\n'
    )
    assert typed_values(load_manifest(tmp_path)) == ("Acme Widgets 42", "ref4471x-k")
    assert typed_values(None) == ()
