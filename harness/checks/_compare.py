"""Step-by-step comparison of an app's answers with its baseline's.

Two runs of the same app never answer byte for byte alike: each types its own
canaries, gets its own CSRF tokens, ids, timestamps and port. :class:`Normaliser`
rewrites what legitimately differs into a placeholder by kind (``<email>``,
``<token>``, ``#`` for digits) before anything is compared, so the email canary
of one run and of the other are both "the email"::

    same = Normaliser.of(run.canaries, run.distinct_id_header, run.session_id_header, run.token)
    differences = compare(baseline_exchanges, base_norm, run.exchanges, same)
    differences[0].step, differences[0].baseline, differences[0].app
    # ('signup', '302 to /dashboard', '302 to /')

What is compared, per scenario step and request in order: the request (method
and path), the status, the redirect target, the forms (where they post and the
names of their fields), the content type and the visible text (:mod:`harness.scenario.digest`:
scripts, styles and markup are not text, so a PostHog snippet is no
difference). Headers are not compared: PostHog may add one. The first
difference of a step is reported; what follows it in that step is its
consequence.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing as t
import urllib.parse

if t.TYPE_CHECKING:
    from harness.run import AnswerDigest
    from harness.run import Canaries
    from harness.run import Exchange
    from harness.run import FormDigest

#: Long run-unique strings: CSRF tokens, session ids, hex digests, uuids.
_TOKEN = re.compile(
    r"(?=[A-Za-z0-9_\-.=+/]*\d)(?=[A-Za-z0-9_\-.=+/]*[A-Za-z])[A-Za-z0-9_\-.=+/]{16,}"
)
_DIGITS = re.compile(r"\d+")
_QUOTE_WORDS = 12


@dataclasses.dataclass(frozen=True)
class Difference:
    """One step where the app and its baseline part: what each did."""

    step: str
    #: "request", "status", "redirect", "content type", "form", "field", "text",
    #: "requests" (how many a step made), "missing" (a step the app did not make)
    what: str
    baseline: str
    app: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """Rewrites one run's unique values into placeholders by kind (matched
    without regard to case: an app may show an email in lower case)."""

    placeholders: dict[str, str]  # lower-case value -> placeholder
    pattern: re.Pattern[str] | None

    @classmethod
    def of(
        cls, canaries: Canaries | None, distinct_id: str = "", session_id: str = "", token: str = ""
    ) -> Normaliser:
        pairs: dict[str, str] = {}
        if canaries is not None:
            kinds = canaries.pii() | {"probe": canaries.probe}
            kinds.pop("client address", None)  # the same loopback address in both runs
            pairs |= {value: f"<{kind}>" for kind, value in kinds.items()}
        for kind, value in (("distinct id", distinct_id), ("session id", session_id)):
            if value:
                pairs[value] = f"<{kind}>"
        if token:
            pairs[token] = "<posthog token>"
        for value, placeholder in list(pairs.items()):
            for encoded in (urllib.parse.quote(value), urllib.parse.quote_plus(value)):
                pairs.setdefault(encoded, placeholder)
        lowered = {value.lower(): placeholder for value, placeholder in pairs.items() if value}
        if not lowered:
            return cls({}, None)
        alternatives = sorted(lowered, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(v) for v in alternatives), re.IGNORECASE)
        return cls(lowered, pattern)

    def text(self, text: str) -> str:
        if self.pattern is not None:
            text = self.pattern.sub(lambda m: self.placeholders[m.group(0).lower()], text)
        return _DIGITS.sub("#", _TOKEN.sub("<token>", text))

    def url(self, url: str | None) -> str:
        """A path or redirect target without scheme and host (the port differs)."""
        if not url:
            return ""
        parts = urllib.parse.urlsplit(url)
        local = parts.path or "/"
        if parts.query:
            local += f"?{parts.query}"
        return self.text(local)


def compare(
    baseline: t.Sequence[Exchange],
    base_norm: Normaliser,
    app: t.Sequence[Exchange],
    app_norm: Normaliser,
) -> list[Difference]:
    """Every step where the app answers otherwise than the baseline (the
    first difference of each), in the baseline's order. Steps only the app
    made are not differences (the plan follows the app's routes)."""
    app_steps = _by_step(app)
    differences = []
    for step, base_exchanges in _by_step(baseline).items():
        ours = app_steps.get(step)
        if not ours:
            first = base_exchanges[0]
            differences.append(
                Difference(step, "missing", _request(first, base_norm), "the step was not made")
            )
            continue
        found = _first_difference(step, base_exchanges, base_norm, ours, app_norm)
        if found is not None:
            differences.append(found)
    return differences


def _by_step(exchanges: t.Sequence[Exchange]) -> dict[str, list[Exchange]]:
    steps: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        steps.setdefault(exchange.step, []).append(exchange)
    return steps


def _first_difference(
    step: str,
    baseline: t.Sequence[Exchange],
    base_norm: Normaliser,
    app: t.Sequence[Exchange],
    app_norm: Normaliser,
) -> Difference | None:
    for position, (base, ours) in enumerate(zip(baseline, app, strict=False)):
        label = f"{step}" if position == 0 else f"{step} (request {position + 1})"
        found = exchange_difference(label, base, base_norm, ours, app_norm)
        if found is not None:
            return found
    if len(baseline) != len(app):
        return Difference(
            step,
            "requests",
            f"{len(baseline)} requests: {_requests(baseline, base_norm)}",
            f"{len(app)} requests: {_requests(app, app_norm)}",
        )
    return None


def exchange_difference(
    step: str, base: Exchange, base_norm: Normaliser, app: Exchange, app_norm: Normaliser
) -> Difference | None:
    """How one request's answer differs, the most telling first."""
    base_request, app_request = _request(base, base_norm), _request(app, app_norm)
    if base_request != app_request:
        return Difference(step, "request", base_request, app_request)
    if base.status != app.status:
        return Difference(
            step, "status", f"{base_request} -> {_answer(base)}", f"{app_request} -> {_answer(app)}"
        )
    bd, ad = base.digest, app.digest
    if bd is None or ad is None:
        return None  # no answer on one side: the statuses said all there is
    base_location, app_location = base_norm.url(bd.location), app_norm.url(ad.location)
    if base_location != app_location:
        return Difference(
            step,
            "redirect",
            f"{base_request} -> {base.status} to {base_location or '(nowhere)'}",
            f"{app_request} -> {app.status} to {app_location or '(nowhere)'}",
        )
    if bd.media_type != ad.media_type:
        return Difference(
            step,
            "content type",
            f"{base_request} -> {bd.media_type or '(none)'}",
            f"{app_request} -> {ad.media_type or '(none)'}",
        )
    form_difference = _forms_difference(step, base_request, bd, base_norm, ad, app_norm)
    if form_difference is not None:
        return form_difference
    base_text, app_text = base_norm.text(bd.text), app_norm.text(ad.text)
    if base_text != app_text:
        quoted_base, quoted_app = quote_change(base_text, app_text)
        return Difference(step, "text", quoted_base, quoted_app, f"page content of {app_request}")
    return None


def _forms_difference(
    step: str,
    request: str,
    base: AnswerDigest,
    base_norm: Normaliser,
    app: AnswerDigest,
    app_norm: Normaliser,
) -> Difference | None:
    base_forms = [_form(f, base_norm) for f in base.forms]
    app_forms = [_form(f, app_norm) for f in app.forms]
    if len(base_forms) != len(app_forms):
        return Difference(
            step,
            "form",
            f"{request}: {len(base_forms)} forms: {_shown_forms(base_forms)}",
            f"{request}: {len(app_forms)} forms: {_shown_forms(app_forms)}",
        )
    for (b_where, b_fields), (a_where, a_fields) in zip(base_forms, app_forms, strict=True):
        if b_where != a_where:
            return Difference(step, "form", f"form {b_where}", f"form {a_where}", request)
        if set(b_fields) != set(a_fields):
            gone = [f for f in b_fields if f not in a_fields]
            added = [f for f in a_fields if f not in b_fields]
            said = "; ".join(
                part
                for part in (
                    f"dropped {', '.join(gone)}" if gone else "",
                    f"added {', '.join(added)}" if added else "",
                )
                if part
            )
            return Difference(
                step,
                "field",
                f"form {b_where} fields: {', '.join(b_fields)}",
                f"form {a_where} fields: {', '.join(a_fields)}",
                f"{request}: {said}",
            )
    return None


def _form(form: FormDigest, norm: Normaliser) -> tuple[str, tuple[str, ...]]:
    return f"{form.method} {norm.url(form.action)}", form.fields


def _shown_forms(forms: t.Sequence[tuple[str, tuple[str, ...]]]) -> str:
    return "; ".join(f"{where} ({', '.join(fields)})" for where, fields in forms) or "none"


def _request(exchange: Exchange, norm: Normaliser) -> str:
    return f"{exchange.method} {norm.url(exchange.path)}"


def _requests(exchanges: t.Sequence[Exchange], norm: Normaliser) -> str:
    return ", ".join(f"{_request(x, norm)} -> {_answer(x)}" for x in exchanges)


def _answer(exchange: Exchange) -> str:
    if exchange.status is None:
        return f"no answer ({exchange.error or 'none'})"
    return str(exchange.status)


def quote_change(base: str, app: str) -> tuple[str, str]:
    """The first stretch where two texts part, a few words of context each side."""
    a, b = base.split(), app.split()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start_a, start_b = max(0, i1 - 4), max(0, j1 - 4)
        shown_a = " ".join(a[start_a : max(i2, i1 + 1) + 4][: _QUOTE_WORDS * 2])
        shown_b = " ".join(b[start_b : max(j2, j1 + 1) + 4][: _QUOTE_WORDS * 2])
        return _ellipsis(shown_a, start_a, i2 + 4, len(a)), _ellipsis(
            shown_b, start_b, j2 + 4, len(b)
        )
    return base, app


def _ellipsis(text: str, start: int, end: int, total: int) -> str:
    head = "..." if start > 0 else ""
    tail = "..." if end < total else ""
    return f"{head}{text or '(nothing)'}{tail}"
