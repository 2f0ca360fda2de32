"""Canaries: unique per run, realistic, and findable by the detectors checks use."""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse

import pytest

from harness.scenario.canary import Identity
from harness.scenario.canary import make_canaries
from harness.scenario.canary import make_identity
from harness.scenario.canary import name_parts
from harness.scenario.canary import new_run_id
from harness.scenario.canary import username

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 NANP: +1, area code NXX, exchange 555, line 0100-0199 (reserved for fiction)
PHONE_RE = re.compile(r"\+1[2-9]\d\d55501\d\d")


def test_canaries_differ_between_runs() -> None:
    first, second = make_canaries(), make_canaries()
    for kind, value in first.pii().items():
        assert value != second.pii()[kind], kind
    assert first.probe != second.probe


def test_same_run_id_gives_the_same_values_except_the_password() -> None:
    first, second = make_canaries("abcdefgh"), make_canaries("abcdefgh")
    assert first.password != second.password
    assert {**first.pii(), "password": ""} == {**second.pii(), "password": ""}


def test_shapes() -> None:
    canaries = make_canaries("kqzmxwtbre")
    assert canaries.email == "pv.kqzmxwtbre@example.com"
    assert canaries.name == "Canary Kqzmxwtbreson"
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
    assert (first, last) == ("Canary", "Abhicdjkson")
    assert username(canaries) == "abhicdjkson"
    assert last.isalpha()


def test_identity() -> None:
    assert make_identity("abcdefgh") == Identity("anon-abcdefgh", "sess-abcdefgh")
    assert make_identity().distinct_id != make_identity().distinct_id


def test_new_run_id_is_letters() -> None:
    assert re.fullmatch(r"[a-z]{10}", new_run_id())


@pytest.mark.parametrize("bad", ["", "abc", "UPPER", "has space", "a" * 33, "dash-ed"])
def test_bad_run_id(bad: str) -> None:
    with pytest.raises(ValueError, match="must be 4-32 lower-case letters or digits"):
        make_canaries(bad)
