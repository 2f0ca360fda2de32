"""posthog-verify: prove, by running it, that a Flask app's PostHog integration works.

The pytest plugin lives in :mod:`harness.plugin`; it is registered through the
``pytest11`` entry point and does nothing until ``--posthog-verify`` is given.
"""

from __future__ import annotations

__version__ = "0.1.0"
