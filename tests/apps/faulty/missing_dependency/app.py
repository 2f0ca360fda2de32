"""Imports a package that is not installed: the app's own code raised."""

import posthog_verify_no_such_package  # noqa: F401
