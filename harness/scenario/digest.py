"""A small digest of one answer, for comparing an app with its baseline.

The driver keeps only an excerpt of each body (:attr:`harness.run.Exchange.body_excerpt`);
``behaviour_preserved`` needs a little more, and in a form two runs can be
compared by: the redirect target, the forms with their field names, and the
page's visible text (scripts, styles and markup dropped, so a PostHog snippet
is not text)::

    digest = digest_of({"Content-Type": "text/html"}, page_html, path="/signup")
    digest.forms        # (FormDigest(method='POST', action='/signup', fields=('email', ...)),)
    digest.text         # 'Sign up Email Password Create account'

Values unique to a run (canaries, CSRF tokens, ids) are still in it: they are
normalised when two digests are compared (:mod:`harness.checks._compare`).
"""

from __future__ import annotations

import html
import re
import typing as t

from harness.run import AnswerDigest
from harness.run import FormDigest
from harness.scenario.forms import find_forms

#: Visible text kept per answer: enough for the pages of a Flask app, small in memory.
TEXT_CHARS = 4000
_INVISIBLE = re.compile(
    r"<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def visible_text(page: str) -> str:
    """The text a reader sees: no scripts, styles, comments or tags."""
    page = _INVISIBLE.sub(" ", page)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", page))).strip()


def digest_of(headers: t.Mapping[str, str], text: str, path: str) -> AnswerDigest:
    """The digest of one answer to a request for ``path``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    media_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    forms: tuple[FormDigest, ...] = ()
    if "html" in media_type:
        if "<form" in text.lower():
            forms = tuple(
                FormDigest(f.method, f.action, tuple(field.name for field in f.fields))
                for f in find_forms(text, path)
            )
        body = visible_text(text)
    else:
        body = _SPACE.sub(" ", text).strip()
    return AnswerDigest(lowered.get("location"), media_type, forms, body[:TEXT_CHARS])
