"""The redactor: what is hidden, what is left alone, and how much stays visible."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from harness.redact import Redactor
from harness.redact import secret_name
from harness.redact import url_passwords
from harness.verdict import Result
from harness.verdict import Status

TOKEN = "phc_posthogverify_test_0123456789ab"
ENV = {
    "SECRET_KEY": "s3cr3t-flask-signing-key",
    "DATABASE_URL": "postgres://shop:hunter2@db.internal:5432/shop",
    "STRIPE_APIKEY": "sk_live_synthetic_0000",
    "KEYBOARD_LAYOUT": "us-international",
    "PATH": "/usr/local/bin:/usr/bin",
    "HOME": "/home/someone",
    "AUTH_MODE": "password",  # a setting's word: not searched for
    "API_TOKEN": "1",  # too short to search for
}


@pytest.mark.parametrize(
    "name",
    [
        "SECRET_KEY",
        "DB_PASSWORD",
        "MYSQL_PASSWD",
        "GITHUB_TOKEN",
        "STRIPE_APIKEY",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AUTH_HEADER",
        "PRIVATE_KEY_PEM",
        "SENTRY_DSN",
        "posthog_api_key",
        "ACCESSTOKEN",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD_LAYOUT",
        "PATH",
        "HOME",
        "PWD",
        "MONKEYPATCH",
        "AUTHOR",
        "DATABASE_URL",
        "PASSTHROUGH_MODE",
        "SSH_AUTH_SOCK",
        "LANG",
        "TOKENIZERS_PARALLELISM",
    ],
)
def test_names_that_are_not_secret(name: str) -> None:
    assert not secret_name(name)


def test_url_passwords_as_written_and_decoded() -> None:
    assert url_passwords("postgres://u:p%40ss@h/db and redis://:hunter2@cache:6379") == [
        "p%40ss",
        "p@ss",
        "hunter2",
    ]
    assert url_passwords("https://host:8080/path@x http://user@host") == []


def test_every_kind_of_secret_is_masked_leaving_its_start_and_length() -> None:
    redactor = Redactor.from_environ(ENV, token=TOKEN)
    text = (
        f"boot failed: DATABASE_URL={ENV['DATABASE_URL']} SECRET_KEY={ENV['SECRET_KEY']} "
        f"token={TOKEN} stripe={ENV['STRIPE_APIKEY']} literal=phc_AbCdEfGh1234567890 "
        "personal=phx_ZYXWVUTSRQ0987654321"
    )
    out = redactor.text(text)
    for secret in (
        "hunter2",
        ENV["SECRET_KEY"],
        TOKEN,
        ENV["STRIPE_APIKEY"],
        "phc_AbCdEfGh1234567890",
        "phx_ZYXWVUTSRQ0987654321",
    ):
        assert secret not in out
    assert "postgres://shop:…(7 chars)@db.internal:5432/shop" in out
    assert f"token=phc_post…({len(TOKEN)} chars)" in out  # the token: its first 8
    assert "literal=phc_Ab…(22 chars)" in out  # a literal key: its first 6
    assert "personal=phx_ZY…(24 chars)" in out
    assert "SECRET_KEY=s3cr…(24 chars)" in out


def test_what_is_not_secret_is_left_alone() -> None:
    redactor = Redactor.from_environ(ENV, token=TOKEN)
    text = (
        "KEYBOARD_LAYOUT=us-international PATH=/usr/local/bin:/usr/bin HOME=/home/someone "
        "the password canary, step 1, https://us.i.posthog.com/batch/ phc_short"
    )
    assert redactor.text(text) == text


def test_a_secret_in_a_url_password_is_hidden_elsewhere_too() -> None:
    redactor = Redactor.from_environ({"DATABASE_URL": "mysql://app:Zq9-pass-77@db/x"})
    assert redactor.text("auth failed with 'Zq9-pass-77'") == "auth failed with 'Zq…(11 chars)'"


def test_redaction_is_idempotent() -> None:
    redactor = Redactor.from_environ(ENV, token=TOKEN)
    once = redactor.text(f"{ENV['DATABASE_URL']} {TOKEN} phc_AbCdEfGh1234567890")
    assert redactor.text(once) == once


def test_results_are_redacted_in_summary_and_every_nested_evidence_value() -> None:
    redactor = Redactor.from_environ(ENV, token=TOKEN)
    result = Result(
        "boots",
        Status.FAIL,
        f"raised: KeyError {ENV['SECRET_KEY']}",
        ({"value": [TOKEN, {"nested": ENV["DATABASE_URL"]}], "line": 3, TOKEN: "key"},),
    )
    shown = repr(redactor.result(result))
    for secret in (ENV["SECRET_KEY"], TOKEN, "hunter2"):
        assert secret not in shown
    assert redactor.result(result).evidence[0]["line"] == 3
    assert result.summary.endswith(ENV["SECRET_KEY"])  # the original is untouched


def test_the_apps_own_dotenv_secrets_count_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SECRET_KEY='from-the-apps-own-dotenv'\nDEBUG=1\n")
    redactor = Redactor.for_app(tmp_path, {"PATH": "/usr/bin"})
    assert redactor.text("key from-the-apps-own-dotenv") == "key from…(24 chars)"


def test_a_secret_is_found_however_a_traceback_quotes_it() -> None:
    secret = "we'ird\\pa ss/wörd"
    redactor = Redactor.from_environ({"DB_PASSWORD": secret})
    quoted = f"{secret!r} {json.dumps(secret)} https://h/?p={urllib.parse.quote(secret, safe='')}"
    out = redactor.text(quoted)
    assert "ird" not in out
    assert out.count(" chars)") == 3


def test_setting_words_are_not_secrets_but_other_lowercase_words_are() -> None:
    redactor = Redactor.from_environ({"AUTH_MODE": "password", "DB_PASSWORD": "hunterxyz"})
    assert redactor.text("the password canary") == "the password canary"
    assert redactor.text("login hunterxyz") == "login hu…(9 chars)"
