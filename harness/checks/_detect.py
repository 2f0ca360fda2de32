"""Finding personal data in one string: canaries, emails, public IPs, phones.

Used by :mod:`harness.checks.pii`. Canaries are exact (the scenario submitted
them), so they are searched everywhere, plain and URL-encoded. The other
detectors guess, and a guess that fires on a timestamp or a version string
would fail a correct app, so they favour precision over recall::

    find_canary("x?e=ada%40example.com", needles)   # ("email", "…«ada%40example.com»")
    find_other("call +44 20 7946 0958")             # ("phone number", ...)

Why not a general PII recogniser: presidio's regex recognisers without its NLP
model flag 10-digit epoch timestamps as phone numbers and dotted versions
("3.11.7.1") as IP addresses; both are in every PostHog event.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
import urllib.parse

from harness.checks._events import shorten

_EMAIL = re.compile(
    r"(?<![\w.%+-])(?P<local>[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24}))"
    r"(?![\w-])"
)
# "icon@2x.png" is a file name, not an address; "views.home@blueprint.main" a
# code path; .local, .internal, .test... are not on the public internet.
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "map"})
_PSEUDO_TLDS = frozenset(
    {"local", "localhost", "internal", "test", "invalid", "example", "lan", "home", "corp", "main"}
)

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

# Separated digit groups, optionally with +country and (area); no group may
# touch another word character, so long digit runs (epochs) never match.
_PHONE = re.compile(
    r"(?<![\w+.:/#-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,4}){1,5}"
    r"(?!\w)(?![.:/-]\w)"
)
# International numbers a country code makes unambiguous: "+14155552671",
# "+49 30 123456789" (groups longer than four digits).
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\d{2,12}){1,4}(?![\w.]|-\d)")
# A word mixing letters and digits right before the digits ("1Z 999 AA1 01 2345
# 6784") makes them part of a code, not a number of their own.
_CODE_BEFORE = re.compile(r"(?=\w*[A-Za-z])(?=\w*\d)\w+[ -]$")
_DATE = re.compile(r"^(?:\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ]\d{2,4})$")


#: Canaries that match only standing alone: addresses, where a longer number
#: holding the canary's digits is another address.
STANDALONE = frozenset({"ip", "client address"})

#: A fragment of a free-text canary counts when it holds the run id and is at
#: least this many characters long: a truncated note (``text[:40]``), an address
#: without its town. The run id alone is not enough (the correlation headers,
#: ``anon-<runid>``, rightly carry it), nor are the canary's ordinary words
#: ("remember the quarterly report", "@example.com"), which values share with
#: it by chance.
MIN_FRAGMENT = 16
#: The canaries whose fragments are searched: values a user types as text.
#: Not the password, the phone (own forms above), addresses or cookies; a
#: manifest's typed values hold no run id, so only they whole count.
FRAGMENT_KINDS = ("email", "name", "address", "text")


def fragment_needles(canaries: dict[str, str], run_id: str) -> list[tuple[str, str, str]]:
    """``(kind, canary, lowercase piece)`` for the fragment search: every
    :data:`MIN_FRAGMENT`-character window of a free-text canary that holds the
    run id, and the email canary's local part when it holds the run id
    (``pv.<runid>``: the address's distinctive half). None without a run id."""
    marker = run_id.lower()
    if not marker:
        return []
    needles: list[tuple[str, str, str]] = []
    for kind, value in canaries.items():
        lowered = value.lower()
        found = lowered.find(marker)
        if kind not in FRAGMENT_KINDS or found < 0:
            continue
        local = lowered.partition("@")[0]
        if kind == "email" and marker in local and local != marker:
            needles.append((kind, value, local))
        size = max(MIN_FRAGMENT, len(marker))
        first = max(0, found + len(marker) - size)
        last = min(found, len(lowered) - size)
        needles.extend((kind, value, lowered[i : i + size]) for i in range(first, last + 1))
    return needles


def find_fragment(text: str, needles: list[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """The first canary fragment in ``text`` as ``(kind, which part, shortened
    value)``: "the start of", "the end of", "the local part of" or "a fragment
    of" (the whole canary is :func:`find_canary`'s). The match is widened to
    the longest run of the canary found there."""
    for haystack in _haystacks(text):
        lowered = haystack.lower()
        for kind, canary, piece in needles:
            start = lowered.find(piece)
            if start < 0:
                continue
            whole = canary.lower()
            at = whole.find(piece)
            end = start + len(piece)
            while start > 0 and at > 0 and lowered[start - 1] == whole[at - 1]:
                start, at = start - 1, at - 1
            while end < len(lowered) and at + (end - start) < len(whole):
                if lowered[end] != whole[at + end - start]:
                    break
                end += 1
            part = _which_part(kind, whole, at, end - start)
            return kind, part, shorten(haystack, start, end)
    return None


def _which_part(kind: str, whole: str, at: int, length: int) -> str:
    if kind == "email" and whole[at : at + length] == whole.partition("@")[0]:
        return "the local part of"
    if at == 0:
        return "the start of"
    if at + length == len(whole):
        return "the end of"
    return "a fragment of"


def canary_needles(canaries: dict[str, str]) -> list[tuple[str, str]]:
    """``(kind, lowercase needle)`` for each canary and its URL-encoded forms.

    Canaries shorter than 4 characters would match by chance, so are left out.
    A phone canary is also searched without its separators (apps normalise).
    """
    needles: list[tuple[str, str]] = []
    for kind, value in canaries.items():
        if len(value) < 4:
            continue
        forms = {
            value,
            urllib.parse.quote(value),
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value),
        }
        if kind == "phone":
            compact = re.sub(r"[\s().-]", "", value)
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 8:
                forms.update({compact, digits})
        needles.extend((kind, form.lower()) for form in sorted(forms))
    return needles


def _haystacks(text: str) -> list[str]:
    decoded = [urllib.parse.unquote(text), urllib.parse.unquote_plus(text)]
    return [text, *(d for d in dict.fromkeys(decoded) if d != text)]


def find_canary(text: str, needles: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first canary in ``text`` as ``(kind, shortened value)``, or None.

    An address canary must stand alone (``203.0.113.7`` is not in ``203.0.113.71``).
    """
    for haystack in _haystacks(text):
        lowered = haystack.lower()
        for kind, needle in needles:
            start = _find(lowered, needle, standalone=kind in STANDALONE)
            if start >= 0:
                return kind, shorten(haystack, start, start + len(needle))
    return None


def _find(text: str, needle: str, *, standalone: bool) -> int:
    if not standalone:
        return text.find(needle)
    match = re.search(rf"(?<![\w.]){re.escape(needle)}(?![\w]|\.\d)", text)
    return match.start() if match else -1


def find_other(text: str, *, key: str = "") -> tuple[str, str] | None:
    """The first email, public IP or phone number in ``text``, or None.

    :param key: the property's path. A value that is an IPv4 address and
        nothing else is one only under an address-like name (``ip``,
        ``client_addr``, ``x_forwarded_for``...): elsewhere four dotted numbers
        are as often a build or release number (``"4.2.0.17"``).
    """
    for haystack in _haystacks(text):
        for kind, finder in _FINDERS:
            span = finder(haystack)
            if span is None:
                continue
            if kind == "public IP" and not _ip_in_context(haystack, span, key):
                continue
            return kind, shorten(haystack, *span)
    return None


_ADDRESS_WORDS = frozenset(
    {"ip", "ips", "addr", "address", "remote", "client", "forwarded", "peer", "origin", "host"}
)
_VERSION_WORDS = frozenset(
    {"version", "versions", "build", "release", "revision", "rev", "ver", "sha", "tag", "commit"}
)
_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|version|build|release|rev|ver)[\s:=#\"'_-]*$")


def _ip_in_context(text: str, span: tuple[int, int], key: str) -> bool:
    """Whether an IP-shaped match is an address, judging by where it stands."""
    if not _VERSION_WORDS.isdisjoint(_words(key)):
        return False
    if span == (0, len(text)) and ":" not in text:  # a bare IPv4 value
        return not _ADDRESS_WORDS.isdisjoint(_words(key.rsplit(".", 1)[-1]))
    return not _VERSION_BEFORE.search(text[max(0, span[0] - 12) : span[0]])


def _words(name: str) -> set[str]:
    """``userIp`` / ``client_ip`` / ``X-Forwarded-For`` -> their lowercase words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w}


def _email(text: str) -> tuple[int, int] | None:
    for match in _EMAIL.finditer(text):
        local, tld = match.group("local"), match.group("tld").lower()
        if ".." in local or local.startswith(".") or tld in _FILE_TLDS | _PSEUDO_TLDS:
            continue
        start, end = match.span()
        if text[end : end + 1] == ":":
            continue  # git@github.com:org/repo.git: an SCP-style remote, not a mailbox
        wrapped = text[start - 1 : start] == "<" and text[end : end + 1] == ">"
        if wrapped and not re.search(r"[A-Za-z]", local):
            continue  # <1718000000.123@mail.example.com>: a Message-ID
        return match.span()
    return None


def _public_ip(text: str) -> tuple[int, int] | None:
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(text):
            try:
                address = ipaddress.ip_address(match.group(0))
            except ValueError:
                continue
            if address.is_global and not address.is_multicast and not address.is_reserved:
                return match.span()
    return None


def _phone(text: str) -> tuple[int, int] | None:
    for match in _INTERNATIONAL.finditer(text):
        if 8 <= sum(c.isdigit() for c in match.group(0)) <= 15:
            return match.span()
    for match in _PHONE.finditer(text):
        if _looks_like_phone(match.group(0)) and not _CODE_BEFORE.search(text[: match.start()]):
            return match.span()
    return None


def _looks_like_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if not 8 <= digits <= 15 or _DATE.match(candidate):
        return False
    plus, parens = candidate.startswith("+"), "(" in candidate
    groups = re.findall(r"\d+", candidate)
    if "." in candidate and not plus:
        return False  # versions, IPs and decimals use dots; phones rarely without +
    if not plus and not parens:
        return _plain_groups_are_a_phone(groups, digits)
    return True


def _plain_groups_are_a_phone(groups: list[str], digits: int) -> bool:
    """Digit groups with no ``+`` and no area code in parentheses: a phone only
    when nothing else explains them."""
    if len(groups) < 3 or digits < 10 or len(groups[-1]) < 3:
        return False  # "1920 1080 24": plain groups are a phone only when long
    if all(len(group) == 3 for group in groups[1:]):
        return False  # 10 000 000: a number grouped in thousands
    if all(len(group) == 4 for group in groups):
        return False  # card, IBAN and tracking chunks: "1234 5678 9012"
    if re.fullmatch(r"(?:19|20)\d\d", groups[0]):
        return False  # "2024 0501 0001": an id that starts with a year
    if [len(g) for g in groups] == [3, 3, 4]:
        return groups[0][0] in "23456789" and groups[1][0] in "23456789"  # a US number
    return True


_FINDERS: tuple[tuple[str, t.Callable[[str], tuple[int, int] | None]], ...] = (
    ("email address", _email),
    ("public IP", _public_ip),
    ("phone number", _phone),
)
