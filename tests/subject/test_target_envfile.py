"""``--posthog-env-file``: dotenv syntax read by the harness, errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.subject.envfile import EnvFileError
from harness.subject.envfile import load_env_file
from harness.subject.envfile import parse_env


def test_the_common_dotenv_forms(tmp_path: Path) -> None:
    text = """
# settings every output of the corpus needs
SECRET_KEY=corpus-secret
export DATABASE_URL = sqlite:///{workspace}/app.db
QUOTED="two words # not a comment"
LITERAL='no \\n escape'
ESCAPED="line\\nbreak \\"quoted\\""
TRAILING=value # a comment
EMPTY=
SECRET_KEY=later-wins
"""
    assert parse_env(text, tmp_path / "x.env") == {
        "SECRET_KEY": "later-wins",
        "DATABASE_URL": "sqlite:///{workspace}/app.db",
        "QUOTED": "two words # not a comment",
        "LITERAL": "no \\n escape",
        "ESCAPED": 'line\nbreak "quoted"',
        "TRAILING": "value",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("OK=1\nnot a setting\n", "x.env:2: expected NAME=value, got 'not a setting'"),
        pytest.param("1BAD=x\n", "x.env:1: expected NAME=value, got '1BAD=x'"),
        pytest.param("A='open\n", "x.env:1: unterminated single quote"),
        pytest.param('A="open\n', "x.env:1: unterminated double quote"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(EnvFileError) as info:
        parse_env(text, Path("x.env"))
    assert str(info.value) == f"--posthog-env-file {message}"


def test_a_missing_file_says_where_paths_are_relative_to(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match="no such file \\(a relative path is relative to where"):
        load_env_file(tmp_path / "absent.env")


def test_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "corpus.env"
    path.write_text("LEDGER_DATABASE={workspace}/ledger.db\n")
    assert load_env_file(path) == {"LEDGER_DATABASE": "{workspace}/ledger.db"}
