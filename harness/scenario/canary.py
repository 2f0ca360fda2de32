"""Canary values and the anonymous identity: what the scenario submits and sends.

Every value is unique to one run and easy to find in any text (a case-insensitive
substring search is enough), yet realistic enough that an app's form validation
accepts it::

    run_id = new_run_id()
    canaries = make_canaries(run_id)       # harness.run.Canaries
    identity = make_identity(run_id)       # the correlation headers' values
    canaries.email                         # 'pv.kqzmxwtbre@example.com'

Why each shape:

- email ``pv.<runid>@example.com``: example.com is reserved (RFC 2606), so
  nothing is ever delivered, and common validators accept it.
- name ``Cana<runid[:4]>a <Runid>son``: letters only, because name validators
  often reject digits; :func:`name_parts` splits it for ``first_name`` and
  ``last_name`` fields, and ``username`` fields get the last name in lower case
  (``<runid>son``). Every part carries run-id letters, so each is a canary of
  its own that no ordinary word matches (a first name of ``Canary`` would
  match a ``release_channel: "canary"`` property: a false fail).
- phone ``+1 2dd 555 01dd`` written compactly (E.164, ``+12dd55501dd``): the
  555-0100..0199 numbers are reserved for fiction, but they need an area code to
  be a valid 10-digit NANP number; four digits come from the run id. Compact
  because apps often strip spaces before storing, which would hide a spaced value
  from a substring search.
- ip ``203.0.113.<n>`` (TEST-NET-3, RFC 5737). :mod:`ipaddress` says
  ``is_global`` is False for it, so a check must find this canary by value, not
  by the "public IP" detector.
- password: random and strong (upper, lower, digit, symbol) so strength rules pass.
- the client address (``REMOTE_ADDR``) is :data:`harness.subject.runtime.CLIENT_ADDRESS`,
  set by the harness's server and test client, not made here.
- a manifest's literal field values (``company = "Acme Widgets 42"``) are typed
  as they are; :func:`typed_values` keeps those distinctive enough to search for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import string
import typing as t

from harness.run import Canaries

if t.TYPE_CHECKING:
    from harness.subject.manifest import Manifest

_RUN_ID_LENGTH = 10
_RUN_ID_RE = re.compile(r"^[a-z0-9]{4,32}$")
# Digits become letters in the name, which validators want alphabetic.
_DIGITS_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")


@dataclasses.dataclass(frozen=True)
class Identity:
    """The anonymous visitor's correlation header values.

    A browser SDK would send these as ``X-POSTHOG-DISTINCT-ID`` and
    ``X-POSTHOG-SESSION-ID``. Kept apart from :class:`~harness.run.Canaries`
    because they are not personal data: the app *should* put them in events.
    """

    distinct_id: str
    session_id: str


def new_run_id() -> str:
    """A fresh run id: lower-case letters only (so every derived value is
    letters-and-dots where validators are picky)."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(_RUN_ID_LENGTH))


def _checked_run_id(run_id: str | None) -> str:
    if run_id is None:
        return new_run_id()
    if not _RUN_ID_RE.match(run_id):
        raise ValueError(
            f"run id {run_id!r} must be 4-32 lower-case letters or digits "
            "(it is embedded in emails, names and paths)"
        )
    return run_id


def _digits(run_id: str, count: int) -> str:
    """``count`` decimal digits derived from the run id (stable per id)."""
    number = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")
    return str(number).zfill(count)[-count:]


def name_parts(canaries: Canaries) -> tuple[str, str]:
    """``(first, last)`` of the canary name, for split name fields."""
    if canaries.first_name and canaries.last_name:
        return canaries.first_name, canaries.last_name
    first, _, last = canaries.name.partition(" ")
    return first, last


def username(canaries: Canaries) -> str:
    """The value for a ``username`` field: the last name in lower case."""
    return canaries.username or name_parts(canaries)[1].lower()


def _phone(run_id: str) -> str:
    digits = _digits(run_id, 4)
    area = "2" + digits[:2]
    if area == "211":  # N11 codes are service numbers, not area codes
        area = "210"
    return f"+1{area}55501{digits[2:]}"


def make_canaries(run_id: str | None = None, typed: t.Iterable[str] = ()) -> Canaries:
    """Canary values for one run.

    :param run_id: 4-32 lower-case letters or digits; a fresh one when None.
        Use the same id for :func:`make_identity`.
    :param typed: literal values the manifest has the scenario type (see
        :func:`typed_values`).
    """
    run_id = _checked_run_id(run_id)
    letters = run_id.translate(_DIGITS_TO_LETTERS)
    house = int(_digits(run_id + "house", 3)) % 899 + 100
    host = int(_digits(run_id + "ip", 3)) % 254 + 1
    first, last = f"Cana{letters[:4]}a", f"{letters.capitalize()}son"
    return Canaries(
        email=f"pv.{run_id}@example.com",
        name=f"{first} {last}",
        phone=_phone(run_id),
        address=f"{house} Canary Street {run_id}, Springfield",
        text=f"posthog-verify note {run_id}: remember the quarterly report",
        ip=f"203.0.113.{host}",
        password=f"Pv-{secrets.token_urlsafe(12)}-9aZ!",
        probe=f"probe-{run_id}",
        first_name=first,
        last_name=last,
        username=last.lower(),
        typed=tuple(dict.fromkeys(typed)),
        run_id=run_id,
    )


# A placeholder marks a value made from a canary: found through that canary.
_PLACEHOLDER = re.compile(r"\{[a-z_]+(?:\.[a-z_]+)?\}")


def is_distinctive(value: str) -> bool:
    """Whether a literal the scenario types can be searched for without false
    fails: at least 8 characters, with a letter, and words or letters mixed
    with digits (``"Acme Widgets"``, ``"ref4471x"``). A choice such as
    ``"premium"``, ``"on"`` or ``"2000-01-01"`` is a value an event may carry
    for reasons of its own, not personal data."""
    text = value.strip()
    if len(text) < 8 or not re.search(r"[A-Za-z]", text) or "://" in text:
        return False
    return bool(re.search(r"\s", text)) or bool(re.search(r"\d", text))


def _literals(template: t.Any) -> t.Iterator[str]:
    if isinstance(template, str):
        if not _PLACEHOLDER.search(template) and is_distinctive(template):
            yield template.strip()
    elif isinstance(template, dict):
        for value in template.values():
            yield from _literals(value)
    elif isinstance(template, list | tuple):
        for value in template:
            yield from _literals(value)


def typed_values(manifest: Manifest | None) -> tuple[str, ...]:
    """The literal values a manifest's forms and steps have the scenario type
    (``fields`` and ``json`` bodies), the distinctive ones (:func:`is_distinctive`):
    the user typed them, so they are canaries like the generated ones."""
    if manifest is None:
        return ()
    forms = [manifest.signup, manifest.login, *manifest.steps]
    bodies = [body for form in forms if form is not None for body in (form.fields, form.json)]
    return tuple(dict.fromkeys(value for body in bodies for value in _literals(body)))


def make_identity(run_id: str | None = None) -> Identity:
    """The anonymous identity sent in correlation headers for one run."""
    run_id = _checked_run_id(run_id)
    return Identity(distinct_id=f"anon-{run_id}", session_id=f"sess-{run_id}")
