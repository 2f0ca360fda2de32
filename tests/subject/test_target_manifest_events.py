"""The manifest's tracking plan, ``[[events]]``: a valid plan, then one case per error."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run import PlannedEvent
from harness.run import PlannedProperty
from harness.subject.manifest import ManifestError
from harness.subject.manifest import load_manifest

PLAN = """
[[events]]
name = "user_signed_up"
step = "signup"
required = ["plan"]
properties = { plan = { type = "string", enum = ["free", "pro"] } }

[[events]]
name = "note_created"
step = "api"

[events.properties]
length = { type = ["integer", "null"] }
"""


def _write(root: Path, text: str) -> Path:
    (root / "posthog-verify.toml").write_text(text)
    return root


def test_a_plan_is_read_in_order(tmp_path: Path) -> None:
    manifest = load_manifest(_write(tmp_path, PLAN))
    assert manifest is not None
    assert manifest.events == (
        PlannedEvent(
            "user_signed_up",
            "signup",
            {"plan": PlannedProperty(("string",), ("free", "pro"))},
            ("plan",),
        ),
        PlannedEvent("note_created", "api", {"length": PlannedProperty(("integer", "null"))}),
    )


def test_no_plan_is_empty(tmp_path: Path) -> None:
    manifest = load_manifest(_write(tmp_path, 'app = "app:create_app"\n'))
    assert manifest is not None
    assert manifest.events == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'events = "signup"\n',
            "posthog-verify.toml: 'events' must be an array of tables ([[events]])",
            id="not-an-array",
        ),
        pytest.param(
            '[[events]]\nstep = "signup"\n',
            "posthog-verify.toml: [[events]] #1 'name' is required and must be a string "
            '(name = "user_signed_up")',
            id="no-name",
        ),
        pytest.param(
            '[[events]]\nname = "a"\n',
            "posthog-verify.toml: [[events]] #1 'step' is required and must be a string "
            '(step = "signup")',
            id="no-step",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nproprties = {}\n',
            "posthog-verify.toml: [[events]] #1 key 'proprties' is not allowed; allowed: name, "
            "step, properties, required. Did you mean 'properties'?",
            id="misspelt-key",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nproperties = { n = { type = "int" } }\n',
            "posthog-verify.toml: [[events]] #1 'properties.n.type' 'int' is not one of string, "
            "number, integer, boolean, object, array, null. Did you mean 'integer'?",
            id="unknown-type",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nproperties = { n = "string" }\n',
            "posthog-verify.toml: [[events]] #1 'properties.n' must be a table like "
            '{ type = "string" }, got a string',
            id="property-not-a-table",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nproperties = { n = { typ = "string" } }\n',
            "posthog-verify.toml: [[events]] #1.properties.n key 'typ' is not allowed; "
            "allowed: type, enum. Did you mean 'type'?",
            id="misspelt-property-key",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nproperties = { n = { enum = [] } }\n',
            "posthog-verify.toml: [[events]] #1 'properties.n.enum' must be a non-empty array",
            id="empty-enum",
        ),
        pytest.param(
            '[[events]]\nname = "a"\nstep = "signup"\nrequired = "plan"\n',
            "posthog-verify.toml: [[events]] #1 'required' must be an array of property names",
            id="required-not-array",
        ),
    ],
)
def test_plan_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_write(tmp_path, text))
    assert str(info.value).startswith(expected), str(info.value)
