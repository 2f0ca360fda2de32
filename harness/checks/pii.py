"""``no_pii_in_events``: no personal data in event properties.

Person properties (``$set``/``$set_once``) are where a user's email and name
belong; event properties are copied into every analytics query, export and
warehouse sync, so personal data there is a leak::

    no_pii_in_events(run).summary
    # "3 of 12 events carry personal data: the email canary in properties.email"

What is searched: every value (and dict key) under ``properties``, nested
values, URLs and query strings included, decoded if URL-encoded; and the
event's name, for the canaries.

- The scenario's canaries (exact, case-insensitive, also URL-encoded) fail
  wherever they appear, and so does a fragment of a free-text one (email,
  name, address, text) that holds the run id and is at least
  :data:`~harness.checks._detect.MIN_FRAGMENT` characters long, or the
  email's local part (``text[:40]``, ``email.split("@")[0]``), SDK-owned
  keys included, with two exceptions that warn: inside ``$exception_*`` (an
  exception message or a captured source line) and in ``$ip`` (the SDK's
  Flask integration adds the request's IP).
- Other email addresses, public IPs and formatted phone numbers fail too, but
  only outside the keys the SDK itself owns (``$lib_version``, ``$os*``...),
  and an IP-shaped value under a key naming a version is a version. Those
  detectors favour precision over recall (see :mod:`harness.checks._detect`):
  a false fail on a correct app costs more trust than a missed odd format.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.cookies
import ipaddress
import typing as t

from harness.checks._detect import canary_needles
from harness.checks._detect import find_canary
from harness.checks._detect import find_fragment
from harness.checks._detect import find_other
from harness.checks._detect import fragment_needles
from harness.checks._events import evidence
from harness.checks._events import exchange_map
from harness.checks._events import plural
from harness.checks._events import result
from harness.checks._events import unique_events
from harness.checks._events import walk
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.capture.records import CapturedEvent
    from harness.run import Run

CHECK = "no_pii_in_events"
# Person and group properties are where identifying data belongs.
_PERSON_KEYS = frozenset({"$set", "$set_once", "$group_set"})
_SDK_KEYS = frozenset(
    {
        "$lib",
        "$lib_version",
        "$is_server",
        "$session_id",
        "$insert_id",
        "$context_tags",
        "$user_agent",
        "$raw_user_agent",
        "$request_method",
        "$request_route",
    }
)
_SDK_PREFIXES = ("$os", "$geoip", "$python", "$exception", "$feature", "$active_feature")
IP_NOTE = (
    "$ip is added by the SDK's Flask integration (the request's remote address: the "
    "client address canary under the harness, the user's address in production); PostHog "
    "uses it for GeoIP. If you do not want IPs stored, drop it in a before_send hook "
    "(event['properties'].pop('$ip', None)) and keep disable_geoip=True"
)
EXCEPTION_NOTE = (
    "only inside the exception's message or captured source lines; consider masking "
    "(code variables mask patterns) or not putting user data in exception messages"
)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One piece of personal data at one property path of one event."""

    event: CapturedEvent
    path: str
    what: str  # "the email canary", "an email address", "$ip"...
    value: str
    status: Status
    note: str | None = None


def _top_key(path: str) -> str:
    return path.split(".", 2)[1].split("[", 1)[0].removesuffix("{key}")


def _sdk_owned(key: str) -> bool:
    return key in _SDK_KEYS or key.startswith(_SDK_PREFIXES)


def _text(leaf: t.Any) -> str | None:
    if isinstance(leaf, str):
        return leaf
    if isinstance(leaf, int | float) and not isinstance(leaf, bool):
        return str(leaf)
    return None


def _leaf_finding(
    event: CapturedEvent,
    path: str,
    leaf: t.Any,
    needles: list[tuple[str, str]],
    app_set_ip: bool = False,
    fragments: list[tuple[str, str, str]] | None = None,
) -> Finding | None:
    text = _text(leaf)
    key = _top_key(path)
    if text is None or not text or key in _PERSON_KEYS:
        return None
    hit = find_canary(text, needles)
    if hit is None and fragments and isinstance(leaf, str) and not path.endswith("{key}"):
        piece = find_fragment(text, fragments)
        if piece is not None:
            kind, part, shown = piece
            status = Status.WARN if key.startswith("$exception") else Status.FAIL
            note = EXCEPTION_NOTE if status is Status.WARN else None
            return Finding(event, path, f"{part} the {kind} canary", shown, status, note)
    if path.endswith("{key}"):
        # A key is a name the app chose: only a canary there is data.
        return None if hit is None else Finding(event, path, _name(hit), _shown(hit), Status.FAIL)
    if key == "$ip":
        return _ip_finding(event, path, text, hit, app_set_ip)
    if hit is not None:
        if key.startswith("$exception"):
            return Finding(event, path, _name(hit), _shown(hit), Status.WARN, EXCEPTION_NOTE)
        return Finding(event, path, _name(hit), _shown(hit), Status.FAIL)
    if _sdk_owned(key) or not isinstance(leaf, str):
        return None
    other = find_other(text, key=path)
    if other is None:
        return None
    article = "an" if other[0][0] in "aeiou" else "a"
    return Finding(event, path, f"{article} {other[0]}", other[1], Status.FAIL)


def _ip_finding(
    event: CapturedEvent, path: str, text: str, hit: tuple[str, str] | None, app_set_ip: bool
) -> Finding | None:
    """``$ip``: an anonymised value is fine; the request's address is a warning
    when the SDK's Flask integration added it, a leak when the app's own call
    put it there."""
    if hit is None and not _is_request_ip(text):
        return None  # "0.0.0.0" or a private address: anonymised, nothing to see
    # Which canary it is goes to the evidence (the value, and IP_NOTE): the
    # summary stays short enough for a terminal line.
    what = "the request's IP"
    shown = hit[1] if hit else text
    if app_set_ip:
        return Finding(event, path, f"{what}, set by the app's own call", shown, Status.FAIL)
    return Finding(event, path, what, shown, Status.WARN, IP_NOTE)


def _is_request_ip(text: str) -> bool:
    """A public address, or loopback: what ``request.remote_addr`` is when the
    harness, on this machine, is the client."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return address.is_global or address.is_loopback


def _uuids_with_app_set_ip(run: Run) -> set[str]:
    """Events whose capture call passed ``$ip`` in its own properties."""
    uuids = set()
    for call in run.capture_calls:
        properties = call.args.get("properties")
        if call.uuid and isinstance(properties, dict) and "$ip" in properties:
            uuids.add(call.uuid)
    return uuids


def _name(hit: tuple[str, str]) -> str:
    kind = hit[0]
    return f"the app's {kind}" if kind.endswith(" cookie") else f"the {kind} canary"


def _shown(hit: tuple[str, str]) -> str:
    """The match as evidence; a cookie is a credential, so only its start."""
    kind, shown = hit
    if not kind.endswith(" cookie"):
        return shown
    start = shown.find("\u00ab") + 1
    return shown[: start + 8] + "…(redacted)\u00bb" if start else "(redacted)"


def issued_cookies(run: Run) -> dict[str, str]:
    """Cookies the app set during the run (its session cookie above all):
    credentials, which no event property may carry. Short values (a flag, a
    theme) are left out: they would match by chance."""
    jar: dict[str, str] = {}
    for exchange in run.exchanges:
        for name, header in exchange.response_headers.items():
            if name.lower() != "set-cookie":
                continue
            cookie = http.cookies.SimpleCookie()
            with contextlib.suppress(http.cookies.CookieError):
                cookie.load(header)
            jar |= {f"{key} cookie": m.value for key, m in cookie.items() if len(m.value) >= 16}
    return jar


def findings(run: Run) -> list[Finding]:
    """Every personal-data finding, once per (event, path)."""
    pii = run.canaries.pii() if run.canaries is not None else {}
    needles = canary_needles(pii | issued_cookies(run))
    fragments = fragment_needles(pii, run.canaries.run_id if run.canaries is not None else "")
    app_ip = _uuids_with_app_set_ip(run)
    found: list[Finding] = []
    for event in unique_events(run):
        # An event's name is copied everywhere its properties are.
        hit = find_canary(event.event, needles)
        if hit is not None:
            found.append(Finding(event, "event", _name(hit), _shown(hit), Status.FAIL))
        for path, leaf in walk(event.properties, "properties"):
            finding = _leaf_finding(event, path, leaf, needles, event.uuid in app_ip, fragments)
            if finding is not None:
                found.append(finding)
    return found


def _summary(found: list[Finding], total: int, status: Status) -> str:
    chosen = [f for f in found if f.status is status]
    events = {id(f.event) for f in chosen}
    places: dict[str, list[str]] = {}
    for finding in chosen:
        paths = places.setdefault(finding.what, [])
        if finding.path not in paths:
            paths.append(finding.path)
    parts = [f"{what} in {', '.join(paths[:3])}" for what, paths in list(places.items())[:3]]
    verb = "carry personal data" if status is Status.FAIL else "carry data to review"
    return f"{len(events)} of {plural(total, 'event')} {verb}: {'; '.join(parts)}"


def _one_per_warning(found: list[Finding]) -> tuple[list[Finding], dict[str, int]]:
    """Every failure, but each warning's path quoted once (the Flask
    integration's ``$ip`` is on every event: fourteen identical items help no one)."""
    shown: list[Finding] = []
    repeats: dict[str, int] = {}
    for finding in found:
        if finding.status is Status.WARN and finding.path in repeats:
            repeats[finding.path] += 1
            continue
        if finding.status is Status.WARN:
            repeats[finding.path] = 0
        shown.append(finding)
    return shown, repeats


def no_pii_in_events(run: Run) -> Result:
    """No canary, other email, public IP or phone number in event properties."""
    events = unique_events(run)
    if not events:
        return result(CHECK, Status.SKIP, "no event was captured")
    found = findings(run)
    by_uuid = exchange_map(run)
    shown, repeats = _one_per_warning(sorted(found, key=lambda f: f.status is not Status.FAIL))
    items = [
        evidence(
            event=f.event,
            exchange=by_uuid.get(f.event.uuid) if f.event.uuid else None,
            path=f.path,
            value=f.value,
            note=f"{f.what}" + (f": {f.note}" if f.note else ""),
        )
        for f in shown
    ]
    items += [{"note": f"and {n} more events with {path}"} for path, n in repeats.items() if n]
    if any(f.status is Status.FAIL for f in found):
        return result(CHECK, Status.FAIL, _summary(found, len(events), Status.FAIL), items)
    if found:
        return result(CHECK, Status.WARN, _summary(found, len(events), Status.WARN), items)
    return result(
        CHECK, Status.PASS, f"no personal data in the properties of {plural(len(events), 'event')}"
    )
