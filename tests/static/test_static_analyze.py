"""Static analysis: each finding on small sources written to tmp_path."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from harness.run import SourceLocation
from harness.run import StaticFacts
from harness.static import analyze
from target_apps.materialize import app_dir

TARGET_APPS = Path(__file__).parents[2] / "target_apps"
# The tail of a synthetic key of a real key's shape (43 characters after phc_).
SYNTHETIC = "SYNTHETICnotAkey0000000000000000000000000"


def _facts(tmp_path: Path, files: dict[str, str]) -> StaticFacts:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return analyze(tmp_path)


@pytest.mark.parametrize(
    ("files", "env_names", "config_keys"),
    [
        pytest.param(
            {"app.py": "import os\nkey = os.environ['POSTHOG_API_KEY']\n"},
            ("POSTHOG_API_KEY",), (), id="environ-subscript",
        ),
        pytest.param(
            {"app.py": "import os\nhost = os.getenv('POSTHOG_HOST', 'x')\n"},
            ("POSTHOG_HOST",), (), id="getenv",
        ),
        pytest.param(
            {"app.py": "from os import environ\nk = environ.get('POSTHOG_KEY')\n"},
            ("POSTHOG_KEY",), (), id="environ-get-imported",
        ),
        pytest.param(
            {"app.py": "import os\nDB = os.environ.get('DATABASE_URL')\n"},
            (), (), id="unrelated-env-ignored",
        ),
        pytest.param(
            {"app.py": """
                import os
                from posthog import Posthog
                client = Posthog(os.environ["PH_TOKEN"], host=os.getenv("ANALYTICS_HOST"))
            """},
            ("ANALYTICS_HOST", "PH_TOKEN"), (), id="flows-into-constructor",
        ),
        pytest.param(
            {"app.py": """
                import os
                from posthog import Posthog
                def create_app(app):
                    app.config["ANALYTICS_KEY"] = os.environ.get("MY_TOKEN")
                    return Posthog(app.config["ANALYTICS_KEY"])
            """},
            ("MY_TOKEN",), ("ANALYTICS_KEY",), id="through-app-config",
        ),
        pytest.param(
            {
                "config.py": """
                    import os
                    class Config:
                        PH_KEY = os.environ.get("PH_PROJECT_TOKEN")
                """,
                "app.py": """
                    import posthog
                    from flask import current_app
                    posthog.api_key = current_app.config.get("PH_KEY")
                """,
            },
            ("PH_PROJECT_TOKEN",), ("PH_KEY",), id="config-class-across-files",
        ),
        pytest.param(
            {"app.py": """
                import os
                import posthog as ph
                TOKEN = os.environ.get("A_KEY") or os.environ.get("B_KEY")
                ph.project_api_key = TOKEN
            """},
            ("A_KEY", "B_KEY"), (), id="through-a-name-with-fallback",
        ),
        pytest.param(
            {"app.py": """
                import os
                def configure(app):
                    app.config.update(POSTHOG_TOKEN=os.environ["PH_T"])
            """},
            ("PH_T",), ("POSTHOG_TOKEN",), id="config-update-named-posthog",
        ),
    ],
)  # fmt: skip
def test_env_names(
    tmp_path: Path,
    files: dict[str, str],
    env_names: tuple[str, ...],
    config_keys: tuple[str, ...],
) -> None:
    facts = _facts(tmp_path, files)
    assert facts.env_names == env_names
    assert facts.config_keys == config_keys


def test_names_are_known_by_the_sdk_argument_they_reach(tmp_path: Path) -> None:
    """What the app calls its settings says nothing; where they go does."""
    facts = _facts(tmp_path, {"app.py": """
        import os
        from posthog import Posthog
        def create_app(app):
            app.config["PH_INSTANCE"] = os.environ.get("PH_INSTANCE_ADDRESS", "https://x")
            return Posthog(os.environ["PH_PROJECT"], host=app.config["PH_INSTANCE"])
    """})  # fmt: skip
    assert facts.host_sources == ("PH_INSTANCE", "PH_INSTANCE_ADDRESS")
    assert facts.key_sources == ("PH_PROJECT",)
    assert facts.hardcoded_hosts == ()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"app.py": f'import posthog\n\nposthog.api_key = "phc_Ab{SYNTHETIC}"\n'},
            [SourceLocation("app.py", 3, 'posthog.api_key = "phc_Ab…"')], id="assigned",
        ),
        pytest.param(
            {"pkg/settings.py": 'KEYS = {"personal": f"phx_{1}abcdefghij", "x": 1}\n'},
            [], id="fstring-split-is-not-a-key",
        ),
        pytest.param(
            {"pkg/settings.py": f'KEY = "phx_ab{SYNTHETIC}"\n'},
            [SourceLocation("pkg/settings.py", 1, 'KEY = "phx_ab…"')], id="personal-key",
        ),
        pytest.param(
            {"app.py": f'DOC = """\nUse the key\n  phc_Zy{SYNTHETIC} here\n"""\n'},
            [SourceLocation("app.py", 3, "phc_Zy… here")], id="multiline-string-line",
        ),
        pytest.param(
            {"app.py": 'A = "graphc_abcdefghijk"\nB = "my_phc_abcdefghijk"\nC = "phc"\n'
                       'D = "phc_short"\nE = "see the phc_ prefix"\n'},
            [], id="phc-inside-words-and-short",
        ),
        pytest.param(
            {"app.py": 'import os\nK = os.environ.get("PH_KEY") or "phc_placeholder_disabled"\n'
                       'D = os.getenv("POSTHOG_KEY", "phc_your_key_here")\n'
                       'S = "phc_AbCdEf123456789"\n'},
            [], id="placeholders-are-no-key",
        ),
        pytest.param(
            {
                "tests/test_app.py": 'KEY = "phc_testkey123456789"\n',
                "test_top.py": 'KEY = "phc_testkey123456789"\n',
                "conftest.py": 'KEY = "phc_testkey123456789"\n',
                ".venv/lib/x.py": 'KEY = "phc_testkey123456789"\n',
                "node_modules/x.py": 'KEY = "phc_testkey123456789"\n',
            },
            [], id="tests-and-venvs-not-scanned",
        ),
    ],
)  # fmt: skip
def test_literal_keys(
    tmp_path: Path, files: dict[str, str], expected: list[SourceLocation]
) -> None:
    facts = _facts(tmp_path, files)
    assert list(facts.literal_keys) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"app.py": 'from posthog import Posthog\nc = Posthog("k", host="https://eu.i.posthog.com")\n'},
            [("app.py", 2)], id="host-kwarg",
        ),
        pytest.param(
            {"app.py": 'import posthog\nposthog.host = "https://ph.example.com"\n'},
            [("app.py", 2)], id="module-host-custom-url",
        ),
        pytest.param(
            {
                "settings.py": 'HOST = "https://us.i.posthog.com"\n',
                "app.py": "import posthog\nfrom settings import HOST\nposthog.host = HOST\n",
            },
            [("settings.py", 1)], id="through-a-constant-in-another-file",
        ),
        pytest.param(
            {"app.py": """
                import os
                from posthog import Posthog
                c = Posthog("k", host=os.getenv("POSTHOG_HOST", "https://us.i.posthog.com"))
            """},
            [], id="env-default-is-not-hardcoded",
        ),
        pytest.param(
            {"app.py": """
                import os
                import posthog
                DEFAULT = "https://us.i.posthog.com"
                posthog.host = os.environ.get("POSTHOG_HOST") or DEFAULT
            """},
            [], id="or-fallback-is-not-hardcoded",
        ),
        pytest.param(
            {"app.py": '"""Docs: https://us.i.posthog.com"""\nURL = "https://posthog.com/docs"\n'},
            [], id="urls-not-passed-to-sdk",
        ),
    ],
)  # fmt: skip
def test_hardcoded_hosts(
    tmp_path: Path, files: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    facts = _facts(tmp_path, files)
    assert [(h.file, h.line) for h in facts.hardcoded_hosts] == expected


@pytest.mark.parametrize(
    ("source", "kwargs", "autocapture"),
    [
        pytest.param(
            "from posthog import Posthog\n"
            "c = Posthog('k', host=H, enable_exception_autocapture=True)\n",
            {"project_api_key": "'k'", "host": "H", "enable_exception_autocapture": "True"},
            True, id="from-import",
        ),
        pytest.param(
            "from posthog import Posthog as PH\nc = PH(project_api_key=K)\n",
            {"project_api_key": "K"}, None, id="aliased-class-absent",
        ),
        pytest.param(
            "import posthog\nc = posthog.Posthog(K, enable_exception_autocapture=False)\n",
            {"project_api_key": "K", "enable_exception_autocapture": "False"}, False,
            id="module-attribute",
        ),
        pytest.param(
            "import posthog as ph\nc = ph.Client(K, enable_exception_autocapture=flag)\n",
            {"project_api_key": "K", "enable_exception_autocapture": "flag"}, "dynamic",
            id="aliased-module-client-dynamic",
        ),
        pytest.param(
            "from posthog.client import Client\nc = Client(K, **opts)\n",
            {"project_api_key": "K", "**": "opts"}, "dynamic", id="client-submodule-star-kwargs",
        ),
        pytest.param(
            "import posthog\nposthog.api_key = K\nposthog.enable_exception_autocapture = True\n",
            {"<module>": "posthog", "api_key": "K", "enable_exception_autocapture": "True"}, True,
            id="module-default-client",
        ),
    ],
)  # fmt: skip
def test_constructions(
    tmp_path: Path, source: str, kwargs: dict[str, str], autocapture: bool | str | None
) -> None:
    facts = _facts(tmp_path, {"app.py": source})
    assert len(facts.constructions) == 1
    site = facts.constructions[0]
    assert site.kwargs == kwargs
    assert site.autocapture == autocapture
    assert (site.location.file, site.location.line) == ("app.py", 2)


def test_unrelated_client_class_is_not_a_construction(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {"app.py": "from redis import Client\nc = Client('x')\n"})
    assert facts.constructions == ()


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        pytest.param(
            "import atexit\nfrom posthog import Posthog\n"
            "ph = Posthog(K)\natexit.register(ph.shutdown)\n",
            [4], id="instance-shutdown",
        ),
        pytest.param(
            "import atexit\nimport posthog\natexit.register(posthog.flush)\n", [3],
            id="module-flush",
        ),
        pytest.param(
            "from atexit import register as on_exit\nimport posthog as p\non_exit(p.shutdown)\n",
            [3], id="aliased-register-and-module",
        ),
        pytest.param(
            "import atexit\n\n@atexit.register\ndef close():\n    app.posthog_client.shutdown()\n",
            [3], id="decorated-function",
        ),
        pytest.param(
            "import atexit\nfrom posthog import shutdown\natexit.register(lambda: shutdown())\n",
            [3], id="lambda-imported-function",
        ),
        pytest.param(
            "import atexit\ndef stop():\n    posthog_client.flush()\natexit.register(stop)\n",
            [4], id="named-function",
        ),
        pytest.param(
            "import atexit\natexit.register(pool.shutdown)\natexit.register(print)\n", [],
            id="unrelated-shutdown",
        ),
    ],
)  # fmt: skip
def test_atexit_sites(tmp_path: Path, source: str, lines: list[int]) -> None:
    facts = _facts(tmp_path, {"app.py": source})
    assert [site.line for site in facts.atexit_sites] == lines


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        pytest.param("import posthog\nposthog.capture('e', distinct_id='d')\n", [2], id="capture"),
        pytest.param("import posthog as p\np.set(distinct_id='d', properties={})\n", [2],
                     id="aliased-set"),
        pytest.param("from posthog import capture as cap\ncap('e')\n", [2], id="imported-function"),
        pytest.param("import posthog\nposthog.tag('a', 1)\nposthog.flush()\n", [],
                     id="not-event-producing"),
        pytest.param("from posthog import Posthog\nc = Posthog(K)\nc.capture('e')\n", [],
                     id="instance-call"),
    ],
)  # fmt: skip
def test_module_calls(tmp_path: Path, source: str, lines: list[int]) -> None:
    facts = _facts(tmp_path, {"app.py": source})
    assert [site.line for site in facts.module_calls] == lines


def test_parse_errors_are_collected_not_raised(tmp_path: Path) -> None:
    facts = _facts(
        tmp_path,
        {"good.py": 'import os\nos.getenv("POSTHOG_KEY")\n', "bad.py": "def f(:\n", "nul.py": ""},
    )
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    facts = analyze(tmp_path)
    assert facts.files_scanned == 3
    assert facts.env_names == ("POSTHOG_KEY",)
    assert facts.parse_errors[0].startswith("bad.py:1: ")
    assert facts.parse_errors[1].startswith("nul.py: ")


def test_empty_folder(tmp_path: Path) -> None:
    assert analyze(tmp_path) == StaticFacts()


@pytest.mark.parametrize(
    ("app", "field"),
    [
        pytest.param("broken_literal_key", "literal_keys", id="literal-key"),
        pytest.param("broken_hardcoded_host", "hardcoded_hosts", id="hardcoded-host"),
    ],
)
def test_target_apps_findings(app: str, field: str) -> None:
    root = app_dir(app)
    found = getattr(analyze(root), field)
    assert found, f"no {field} in target_apps/{app}"
    assert getattr(analyze(TARGET_APPS / "reference"), field) == ()


@pytest.mark.parametrize(
    ("call", "prefixes"),
    [
        pytest.param("app.config.from_prefixed_env()", ("FLASK",), id="default"),
        pytest.param('app.config.from_prefixed_env("MYAPP")', ("MYAPP",), id="positional"),
        pytest.param('app.config.from_prefixed_env(prefix="SVC")', ("SVC",), id="keyword"),
        pytest.param("app.config.from_mapping(X=1)", (), id="other-loader"),
    ],
)
def test_env_prefixes(tmp_path: Path, call: str, prefixes: tuple[str, ...]) -> None:
    source = f"from flask import Flask\napp = Flask(__name__)\n{call}\n"
    assert _facts(tmp_path, {"app.py": source}).env_prefixes == prefixes


# Synthetic test data shaped like a key (43 letters and digits), not a real key.
SHAPED_KEY = "phc_" + "SYNTHETICtestKEYnotReal" + "0" * 20


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        pytest.param(".env", f"POSTHOG_API_KEY={SHAPED_KEY}\n", True, id="dotenv"),
        pytest.param("settings.json", f'{{"posthog": {{"key": "{SHAPED_KEY}"}}}}', True, id="json"),
        pytest.param("config/app.yaml", f"posthog_key: {SHAPED_KEY}\n", True, id="yaml"),
        pytest.param(
            ".env.example", "POSTHOG_API_KEY=phc_your_key_here\n", False, id="placeholder"
        ),
        pytest.param("notes.md", f"key: {SHAPED_KEY}\n", False, id="docs-not-scanned"),
    ],
)
def test_keys_committed_in_configuration_files(
    tmp_path: Path, name: str, text: str, found: bool
) -> None:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    keys = analyze(tmp_path).literal_keys
    assert bool(keys) is found
    if found:
        assert keys[0].file == name
        assert SHAPED_KEY not in keys[0].text  # redacted
        assert "phc_SY…" in keys[0].text


def test_a_key_in_a_git_ignored_file_is_not_committed(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(".env\n")
    (tmp_path / ".env").write_text(f"POSTHOG_API_KEY={SHAPED_KEY}\n")
    (tmp_path / "deploy.yaml").write_text(f"key: {SHAPED_KEY}\n")
    assert [k.file for k in analyze(tmp_path).literal_keys] == ["deploy.yaml"]
