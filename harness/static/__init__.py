"""What an app's source says about its PostHog setup, read with :mod:`ast` only.

The app is untrusted and this runs in the pytest process: nothing here imports
or executes it. ::

    from harness.static import analyze
    facts = analyze(Path("my_app"))     # harness.run.StaticFacts
"""

from __future__ import annotations

from harness.static.analyze import analyze as analyze
from harness.static.analyze import redact as redact
from harness.static.walk import is_skipped_dir as is_skipped_dir
from harness.static.walk import iter_source_files as iter_source_files
