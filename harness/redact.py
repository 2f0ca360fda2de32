"""Redaction: no secret the app was given leaves the harness in any output.

The checks read the real values (the Run); what people read is redacted once,
where the results leave the checks (:meth:`harness.session.VerifySession`), so
the JSON, the Markdown, the terminal, JUnit XML and every quoted traceback get
the same text and no format can forget it::

    redactor = Redactor.from_environ(environ, token=run.token)
    safe = [redactor.result(r) for r in run_checks(run)]

What is redacted, leaving enough to recognise it (the first characters and
the length):

- the injected token: its first 8 characters (``phc_post…(35 chars)``), as
  ``docs/checks.md`` promises;
- any PostHog key-shaped string (``phc_``, ``phx_``, ``phs_`` followed by at
  least 8 key characters): its first 6;
- the value of every environment variable whose name looks secret (a part of
  the name, split on ``_``, is ``SECRET``, ``PASSWORD``, ``TOKEN``, ``KEY``,
  ``AUTH``... or ends with one: ``APIKEY``; ``KEYBOARD_LAYOUT`` is not);
- the password inside any URL (``postgres://user:«pw»@host/db``), in the
  environment's values and in any text.

Values shorter than :data:`MIN_SECRET_CHARS`, and words that are settings
(``password``, ``enabled``, ``redis``), are not searched for: replacing every
``1``, ``on`` or ``session`` in a report would destroy it and hide nothing. A
value is also found as a repr, a JSON string or percent-encoded would show it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t
import urllib.parse

from harness.subject.discovery import _dotenv as read_dotenv  # the one .env parser
from harness.verdict import Result

if t.TYPE_CHECKING:
    from pathlib import Path

#: Shorter values are left alone (see the module docstring).
MIN_SECRET_CHARS = 6
#: Characters of the injected token that stay visible (docs/checks.md).
TOKEN_VISIBLE = 8
#: Characters of a key-shaped literal that stay visible (docs/checks.md).
KEY_VISIBLE = 6

# Name parts that make a variable secret. Matched against whole parts of the
# name, or the end of a part (APIKEY, AUTHTOKEN), never anywhere inside one.
_SECRET_PARTS = frozenset(
    {
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "TOKEN",
        "TOKENS",
        "KEY",
        "KEYS",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "OAUTH",
        "PRIVATE",
        "SIGNATURE",
        "SALT",
        "DSN",
    }
)
_SECRET_ENDINGS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD")
# Names that match a part above but hold nothing secret.
_NOT_SECRET = frozenset({"SSH_AUTH_SOCK", "GPG_AGENT_INFO", "XDG_SESSION_ID", "XDG_SESSION_TYPE"})

_KEY_SHAPED = re.compile(r"\bph[cxs]_[A-Za-z0-9][A-Za-z0-9_\-]{7,}")
# scheme://user:password@host: the password is group "pw".
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"'<>]*:)(?P<pw>[^\s@/\"'<>]+)(?P<at>@)"
)


def secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret.

    ``SECRET_KEY``, ``DB_PASSWORD``, ``GITHUB_TOKEN``, ``STRIPE_APIKEY`` are;
    ``KEYBOARD_LAYOUT``, ``PATH``, ``MONKEYPATCH`` are not.
    """
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    parts = [p for p in re.split(r"[^A-Z0-9]+", upper) if p]
    return any(p in _SECRET_PARTS or _secret_ending(p) for p in parts)


def _secret_ending(part: str) -> bool:
    return any(part.endswith(end) and len(part) > len(end) for end in _SECRET_ENDINGS)


def url_passwords(text: str) -> list[str]:
    """The passwords inside every ``scheme://user:password@host`` in ``text``,
    as written and percent-decoded (a traceback may show either)."""
    found: dict[str, None] = {}
    for match in _URL_CREDENTIALS.finditer(text):
        found[match["pw"]] = None
        found[urllib.parse.unquote(match["pw"])] = None
    return list(found)


# What a secret-looking variable often holds that is a setting, not a secret
# (AUTH_MODE=password, SESSION_TYPE=redis): hiding these words would mangle
# every sentence of a report that uses them, and hide nothing.
_SETTING_WORDS = frozenset(
    {"password", "passwords", "session", "sessions", "enabled", "disabled", "default",
     "development", "production", "staging", "testing", "secret", "secrets", "token",
     "tokens", "cookie", "cookies", "bearer", "digest", "required", "optional", "always",
     "never", "strict", "sqlite", "memory", "filesystem", "redis", "postgres", "localhost"}
)  # fmt: skip


def _plain_word(value: str) -> bool:
    return value.lower() in _SETTING_WORDS


def _spellings(value: str) -> set[str]:
    """The ways a value shows up in text: as is, inside a repr or a JSON
    string (a traceback quotes ``'pa\\ss'``), and percent-encoded in a URL."""
    return {
        value,
        repr(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        urllib.parse.quote(value, safe=""),
    }


def masked(value: str, visible: int) -> str:
    """``value`` as evidence may show it: its first characters and its length."""
    return f"{value[:visible]}…({len(value)} chars)"


class Redactor:
    """Replaces secrets in text and in JSON-like values; immutable, thread-safe.

    :param secrets: exact values to hide wherever they appear (each shows at
        most a quarter of itself, up to 4 characters).
    :param token: the injected token (shows :data:`TOKEN_VISIBLE` characters).
    """

    def __init__(self, secrets: t.Iterable[str] = (), *, token: str = "") -> None:
        self._visible: dict[str, int] = {}
        for value in secrets:
            if len(value) >= MIN_SECRET_CHARS and not _plain_word(value):
                for spelling in _spellings(value):
                    self._visible[spelling] = min(4, len(value) // 4)
        if token:
            self._visible[token] = TOKEN_VISIBLE
        ordered = sorted(self._visible, key=len, reverse=True)  # longest first: no partial hit
        self._exact = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def from_environ(cls, environ: t.Mapping[str, str], *, token: str = "") -> Redactor:
        """A redactor for an app given ``environ`` (and ``token``, injected)."""
        secrets: list[str] = []
        for name, value in environ.items():
            if secret_name(name):
                secrets.append(value)
            secrets.extend(url_passwords(value))
        return cls(secrets, token=token)

    @classmethod
    def for_app(cls, app_root: Path, environ: t.Mapping[str, str], *, token: str = "") -> Redactor:
        """A redactor for an app run with ``environ``: its own ``.env`` and
        ``.flaskenv`` count too (the app loads them; its boot error may quote them)."""
        dotenv = {**read_dotenv(app_root / ".flaskenv"), **read_dotenv(app_root / ".env")}
        return cls.from_environ({**dotenv, **environ}, token=token)

    def text(self, text: str) -> str:
        """``text`` with every secret, URL password and key-shaped string masked."""
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{_hidden(m['pw'])}{m['at']}", text)
        if self._exact is not None:
            text = self._exact.sub(lambda m: masked(m[0], self._visible[m[0]]), text)
        return _KEY_SHAPED.sub(lambda m: masked(m[0], KEY_VISIBLE), text)

    def value(self, value: t.Any) -> t.Any:
        """A JSON-like value (str, dict, list, tuple, scalars) with its strings redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value

    def result(self, result: Result) -> Result:
        """The result as every output shows it: summary and evidence redacted."""
        return dataclasses.replace(
            result,
            summary=self.text(result.summary),
            evidence=tuple(self.value(dict(item)) for item in result.evidence),
        )


def _hidden(password: str) -> str:
    # A URL password shows nothing but its length: it may be short.
    return f"…({len(password)} chars)"
