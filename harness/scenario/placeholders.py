"""``{canary.email}``-style placeholders in scenario and manifest values.

Templates are strings, or tables and arrays of them (a JSON body)::

    values = placeholder_values(canaries, identity)
    expand({"text": "{canary.text}"}, values)   # {'text': 'posthog-verify note ...'}

Only a lowercase name in braces (``{secret}``, ``{canary.email}``) is a
placeholder, so ordinary braces in a value (a JSON string, a regex) pass
through untouched. An unknown placeholder is an error when the scenario or the
manifest is loaded (:func:`unknown_placeholders`), never a silent literal.
This one module serves both.
"""

from __future__ import annotations

import re
import typing as t

from harness.scenario.canary import name_parts
from harness.scenario.canary import username

if t.TYPE_CHECKING:
    from harness.run import Canaries
    from harness.scenario.canary import Identity

PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")

KNOWN = frozenset(
    {
        "canary.email",
        "canary.name",
        "canary.first_name",
        "canary.last_name",
        "canary.username",
        "canary.phone",
        "canary.address",
        "canary.text",
        "canary.ip",
        "canary.password",
        "canary.probe",
        "identity.distinct_id",
        "identity.session_id",
        "secret",  # the password the run signs up with
    }
)


def placeholder_values(canaries: Canaries, identity: Identity) -> dict[str, str]:
    """Every placeholder's value for one run."""
    first, last = name_parts(canaries)
    return {
        "canary.email": canaries.email,
        "canary.name": canaries.name,
        "canary.first_name": first,
        "canary.last_name": last,
        "canary.username": username(canaries),
        "canary.phone": canaries.phone,
        "canary.address": canaries.address,
        "canary.text": canaries.text,
        "canary.ip": canaries.ip,
        "canary.password": canaries.password,
        "canary.probe": canaries.probe,
        "identity.distinct_id": identity.distinct_id,
        "identity.session_id": identity.session_id,
        "secret": canaries.password,
    }


def expand(template: t.Any, values: t.Mapping[str, str]) -> t.Any:
    """``template`` with every known placeholder replaced, recursively through
    tables and arrays; non-string scalars are returned as they are."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {key: expand(value, values) for key, value in template.items()}
    if isinstance(template, list | tuple):
        return [expand(value, values) for value in template]
    return template


def unknown_placeholders(template: t.Any) -> list[str]:
    """Placeholders in ``template`` that :data:`KNOWN` does not name."""
    if isinstance(template, str):
        return [name for name in PLACEHOLDER.findall(template) if name not in KNOWN]
    if isinstance(template, dict):
        return [name for value in template.values() for name in unknown_placeholders(value)]
    if isinstance(template, list | tuple):
        return [name for value in template for name in unknown_placeholders(value)]
    return []
