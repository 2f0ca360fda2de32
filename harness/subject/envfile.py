"""``--posthog-env-file``: the same app settings for a whole corpus of apps.

A corpus of agent outputs shares one app's needs (``SECRET_KEY``,
``DATABASE_URL``...), so one dotenv file gives them all, instead of a manifest
in every output::

    settings = load_env_file(Path("corpus.env"))   # {"DATABASE_URL": "sqlite:///{workspace}/a.db"}
    env = {name: expand_env(value, workspace) for name, value in settings.items()}

The syntax is dotenv's common core, parsed here (python-dotenv is not a
dependency of the plugin): ``NAME=value`` lines, an optional ``export``,
``#`` comments (whole lines, or after a space in an unquoted value), single
quotes (literal) and double quotes (``\\n``, ``\\"`` and ``\\\\`` escapes).
Values may use ``{workspace}`` as in the manifest's ``[env]``. A line that is
not one of these raises :class:`EnvFileError` naming the file and the line.
"""

from __future__ import annotations

import re
from pathlib import Path

_LINE_RE = re.compile(r"^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


class EnvFileError(Exception):
    """An env file that cannot be used: which file, which line, and why."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"--posthog-env-file {where}: {self.message}"


def load_env_file(path: Path) -> dict[str, str]:
    """Read ``path`` as a dotenv file; see the module docs for the syntax.

    :raises EnvFileError: the file is missing, unreadable, or a line is not
        ``NAME=value``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "no such file (a relative path is relative to where pytest runs)"
        raise EnvFileError(path, None, message) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(path, None, f"cannot be read as UTF-8 text: {exc}") from None
    return parse_env(text, path)


def parse_env(text: str, path: Path) -> dict[str, str]:
    """``NAME=value`` lines into a dict, later lines winning."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE_RE.match(line)
        if match is None:
            raise EnvFileError(path, number, f"expected NAME=value, got {raw.strip()!r}")
        values[match["name"]] = _value(match["value"].strip(), path, number)
    return values


def _value(text: str, path: Path, number: int) -> str:
    if text[:1] == "'":
        end = text.find("'", 1)
        if end < 0:
            raise EnvFileError(path, number, "unterminated single quote")
        return text[1:end]
    if text[:1] == '"':
        out, index = [], 1
        while index < len(text) and text[index] != '"':
            char = text[index]
            if char == "\\" and index + 1 < len(text):
                index += 1
                char = _ESCAPES.get(text[index], "\\" + text[index])
            out.append(char)
            index += 1
        if index >= len(text):
            raise EnvFileError(path, number, "unterminated double quote")
        return "".join(out)
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()
