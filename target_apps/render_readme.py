"""Render ``README.md`` from ``expectations.toml``, so the two cannot drift.

python target_apps/render_readme.py          # rewrite README.md
python target_apps/render_readme.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHORT = {"pass": "pass", "fail": "**FAIL**", "warn": "warn", "skip": "skip", "error": "error"}

INTRO = """\
# Target apps: the corpus posthog-verify is proven on

Small Flask 3 apps of one shape (an `app/` package with a `create_app` factory,
`pages` and `api` blueprints, session login over sqlite3). `baseline` has no
PostHog; `reference` integrates it as the Flask guidance asks; the `correct_*`
apps are other valid styles; each `broken_*` app is `derived_from` changed in
one place, marked `# BROKEN:` in its source. Every app boots with nothing but
environment variables (`POSTHOG_PROJECT_TOKEN`, `POSTHOG_HOST`).
The standalone apps at the end (those with `proven_by` in `expectations.toml`)
each have a shape of their own and show how failed steps are blamed.

## Whole apps and variants

`baseline`, `reference` and any standalone app are whole folders. Every other
app is a *variant*: `<name>.patch`, a unified diff against the app it is
derived from (its `base:` line), so the patch is the defect and nothing else
(`cat broken_pii_tag.patch` shows it). Patches rather than overlays of whole
files: an overlay repeats the file it changes, so the reader still needs a
diff to find the defect; a patch shows only the changed lines, and applying it
strictly (every context line must match) fails loudly when the base changes
under it. To run one variant, build it into a folder of your own:

    python -m target_apps.materialize broken_pii_tag /tmp/out
    python -m pytest --posthog-verify --posthog-app /tmp/out/broken_pii_tag

`python -m target_apps.materialize --list` names every app. After editing a
built variant, `python -m target_apps.materialize --diff NAME DIR` writes its
patch back. A variant does not inherit its base's own test suite (`tests/`,
`pytest.ini`). The tests build variants into temporary folders
(`target_apps.materialize.app_dir(name)`).

The verdicts below are the contract, kept in `expectations.toml` (this file is
generated from it: `python target_apps/render_readme.py`). Ground truth, proven
without the harness, lives in `tests/target_apps/test_corpus_ground_truth.py`.

The `setup_*`, `login_on_landing` and `src_layout_env` apps are whole apps in
shapes of their own (what real apps need on a first run: their migrations, an
init command, forms where no route name says so, a `src/` layout and a required
setting); each says in `ground_truth` why the ground-truth driver does not
drive it, and `tests/subject/test_target_setup_apps.py` asserts their evidence.
"""


def load(path: Path = HERE / "expectations.toml") -> dict[str, dict[str, object]]:
    return tomllib.loads(path.read_text())["apps"]


def render(apps: dict[str, dict[str, object]]) -> str:
    """The README: intro, one table of verdicts, then what each app demonstrates."""
    checks = list(next(iter(apps.values()))["expect"])  # type: ignore[arg-type]
    lines = [INTRO, "## Expected verdicts", ""]
    lines.append("| app | " + " | ".join(f"`{c}`" for c in checks) + " |")
    lines.append("| --- |" + " --- |" * len(checks))
    for name, app in apps.items():
        expect = app["expect"]
        cells = [SHORT[expect[c]] for c in checks]  # type: ignore[index]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "## The apps", ""]
    for name, app in apps.items():
        origin = f" (from `{app['derived_from']}`)" if "derived_from" in app else ""
        if (HERE / f"{name}.patch").is_file():
            origin = f" (`{name}.patch` against `{app['derived_from']}`)"
        lines.append(f"- `{name}` [{app['style']}]{origin}: {app['description']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(load())
    readme = HERE / "README.md"
    if "--check" in argv:
        return 0 if readme.exists() and readme.read_text() == text else 1
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
