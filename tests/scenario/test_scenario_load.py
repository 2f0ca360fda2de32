"""Loading scenario files: the shipped default, and errors that name file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.scenario.load import ScenarioError
from harness.scenario.load import StepKind
from harness.scenario.load import accepts
from harness.scenario.load import available_scenarios
from harness.scenario.load import load_scenario

# docs/checks.md, "How the run is driven": the order and kinds of the default scenario
DOCUMENTED_ORDER = [
    ("anon_browse", "browse"),
    ("signup", "signup"),
    ("dashboard", "browse"),
    ("api_action", "api"),
    ("logout", "logout"),
    ("login", "login"),
    ("dashboard_again", "browse"),
    ("probe", "probe"),
    ("errors", "error"),
    ("logout_final", "logout"),
    ("anon_after_logout", "browse"),
]


def test_default_follows_the_documented_order() -> None:
    scenario = load_scenario()
    assert scenario.name == "default"
    assert [(s.name, s.kind.value) for s in scenario.steps] == DOCUMENTED_ORDER


def test_default_details() -> None:
    steps = {step.name: step for step in load_scenario("default").steps}
    assert steps["anon_browse"].anonymous
    assert steps["anon_browse"].variants[0].path == "/"
    assert steps["signup"].role == "signup"
    assert steps["signup"].variants[0].form
    api = steps["api_action"].variants
    assert (api[0].method, api[0].candidates[0]) == ("POST", "/api/notes")
    assert api[0].json == {"text": "{canary.text}"}
    assert api[1].form  # the form-discovery fallback
    assert steps["probe"].variants[0].path == "/__posthog_verify__/raise"
    assert steps["probe"].anonymous
    assert steps["probe"].expect == "5xx"
    assert steps["errors"].from_manifest == "errors"
    assert steps["anon_after_logout"].anonymous


def test_default_is_listed_and_loads_by_path() -> None:
    assert "default" in available_scenarios()
    path = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"
    assert load_scenario(str(path)).steps == load_scenario("default").steps


@pytest.mark.parametrize(
    ("status", "expect", "ok"),
    [(200, "any", True), (None, "any", False), (302, "2xx|3xx", True), (404, "2xx|3xx", False)],
)
def test_accepts(status: int | None, expect: str, ok: bool) -> None:
    assert accepts(expect, status) is ok


GOOD_STEP = '[[steps]]\nname = "a"\nkind = "browse"\npath = "/"\n'

BAD_FILES = [
    pytest.param("name = 'x'\n", "steps", "needs at least one [[steps]]", id="no-steps"),
    pytest.param(
        "descripton = 'x'\n" + GOOD_STEP, "descripton", "did you mean 'description'?", id="top-typo"
    ),
    pytest.param("[[steps]]\nkind = 'browse'\n", "steps[0].name", "needs a name", id="no-name"),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browze'\npath = '/'\n",
        "steps[0] (a).kind",
        "'browze' is not one of browse, signup, login, logout, api, probe, error, other "
        "(did you mean 'browse'?)",
        id="bad-kind",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\npaht = '/'\n",
        "steps[0] (a).paht",
        "did you mean 'path'?",
        id="key-typo",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\npath = 'dashboard'\n",
        "steps[0] (a).path",
        "'dashboard' is not a path starting with '/'",
        id="relative-path",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\n",
        "steps[0] (a).path",
        "give path, candidates, role or from_manifest",
        id="nowhere-to-go",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'api'\nmethod = 'POST'\npath = '/x'\n"
        "json = { t = '{canary.emial}' }\n",
        "steps[0] (a).json",
        "unknown placeholder {canary.emial}",
        id="unknown-placeholder",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\npath = '/'\nexpect = '200'\n",
        "steps[0] (a).expect",
        'use "any" or classes',
        id="bad-expect",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\npath = '/'\nmethod = 'FETCH'\n",
        "steps[0] (a).method",
        "'FETCH' is not one of GET, POST",
        id="bad-method",
    ),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'browse'\npath = '/'\nanonymous = 'yes'\n",
        "steps[0] (a).anonymous",
        "'yes' is not true or false",
        id="bad-flag",
    ),
    pytest.param(GOOD_STEP + GOOD_STEP, "steps[1].name", "'a' is used twice", id="duplicate-name"),
    pytest.param(
        "[[steps]]\nname = 'a'\nkind = 'api'\n[[steps.variants]]\nmetod = 'GET'\n",
        "steps[0] (a).variants[0].metod",
        "did you mean 'method'?",
        id="variant-typo",
    ),
    pytest.param("steps = [\n", "toml", "not valid TOML", id="not-toml"),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD_FILES)
def test_bad_scenario_file(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    error = caught.value
    assert (error.source, error.key) == (str(path), key)
    assert problem in error.problem
    assert str(error).startswith(f"{path}: {key}: ")


def test_unknown_scenario_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=re.escape("no scenario named 'defualt' (did you mean")):
        load_scenario("defualt")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("/nonexistent/x.toml")


def test_kinds_are_the_exchange_kinds() -> None:
    assert {k.value for k in StepKind} == {
        "browse", "signup", "login", "logout", "api", "probe", "error", "other",
    }  # fmt: skip
