"""Imports a module that does not exist inside an installed package: the
app's own mistake (an integration path that was never there), not the
environment's."""

from posthog.integrations import no_such_integration  # noqa: F401
