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
- name ``Canary <Runid>son``: letters only, because name validators often reject
  digits; :func:`name_parts` splits it for ``first_name``/``last_name`` fields,
  and ``username`` fields get the distinctive part in lower case
  (``<runid>son``), so a case-insensitive search for the last name finds all three.
- phone ``+1 2dd 555 01dd`` written compactly (E.164, ``+12dd55501dd``): the
  555-0100..0199 numbers are reserved for fiction, but they need an area code to
  be a valid 10-digit NANP number; four digits come from the run id. Compact
  because apps often strip spaces before storing, which would hide a spaced value
  from a substring search.
- ip ``203.0.113.<n>`` (TEST-NET-3, RFC 5737). :mod:`ipaddress` says
  ``is_global`` is False for it, so a check must find this canary by value, not
  by the "public IP" detector.
- password: random and strong (upper, lower, digit, symbol) so strength rules pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import string

from harness.run import Canaries

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
    first, _, last = canaries.name.partition(" ")
    return first, last


def username(canaries: Canaries) -> str:
    """The value for a ``username`` field: the last name in lower case."""
    return name_parts(canaries)[1].lower()


def _phone(run_id: str) -> str:
    digits = _digits(run_id, 4)
    area = "2" + digits[:2]
    if area == "211":  # N11 codes are service numbers, not area codes
        area = "210"
    return f"+1{area}55501{digits[2:]}"


def make_canaries(run_id: str | None = None) -> Canaries:
    """Canary values for one run.

    :param run_id: 4-32 lower-case letters or digits; a fresh one when None.
        Use the same id for :func:`make_identity`.
    """
    run_id = _checked_run_id(run_id)
    letters = run_id.translate(_DIGITS_TO_LETTERS)
    house = int(_digits(run_id + "house", 3)) % 899 + 100
    host = int(_digits(run_id + "ip", 3)) % 254 + 1
    return Canaries(
        email=f"pv.{run_id}@example.com",
        name=f"Canary {letters.capitalize()}son",
        phone=_phone(run_id),
        address=f"{house} Canary Street {run_id}, Springfield",
        text=f"posthog-verify note {run_id}: remember the quarterly report",
        ip=f"203.0.113.{host}",
        password=f"Pv-{secrets.token_urlsafe(12)}-9aZ!",
        probe=f"probe-{run_id}",
    )


def make_identity(run_id: str | None = None) -> Identity:
    """The anonymous identity sent in correlation headers for one run."""
    run_id = _checked_run_id(run_id)
    return Identity(distinct_id=f"anon-{run_id}", session_id=f"sess-{run_id}")
