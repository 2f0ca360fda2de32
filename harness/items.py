"""pytest nodes: one collector per app, one item per (app, check).

Item ids read ``reference::no_pii_in_events`` so ``-k``, ``--lf``,
``--junitxml`` and xdist behave as pytest users expect. An item does no work of
its own: the app's verification runs once (see :mod:`harness.session`) and each
item reports its check's verdict from it.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from harness.report.steps import failed_step_lines
from harness.verdict import Result
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.session import AppEntry
    from harness.session import VerifySession

RESULT_PROPERTY = "posthog_verify"


class CheckFailed(Exception):
    """The app breaks the rule: the message is the evidence."""


def format_result(result: Result, *, limit: int = 20) -> str:
    """The summary, then each evidence item on its own line."""
    lines = [f"{result.check_id}: {result.status.value}: {result.summary}"]
    for item in result.evidence[:limit]:
        # A text the summary already says (a cause) is not said twice.
        shown = {k: v for k, v in item.items() if not (isinstance(v, str) and v in result.summary)}
        lines.append("  - " + json.dumps(shown, ensure_ascii=False, default=str))
    if len(result.evidence) > limit:
        lines.append(f"  ... {len(result.evidence) - limit} more")
    return "\n".join(lines)


def _steps_block(steps: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    lines = failed_step_lines(steps)
    return "".join(["\nfailed steps:", *(f"\n  - {line}" for line in lines)]) if lines else ""


class VerifyDirectory(pytest.Directory):
    """Stands for the rootdir in verify mode: its children are the apps."""

    def __init__(self, *, verify: VerifySession, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.verify = verify

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [
            AppCollector.from_parent(
                self, name=entry.name, nodeid=entry.name, entry=entry, verify=self.verify
            )
            for entry in self.verify.entries
        ]


class AppCollector(pytest.Collector):
    """The items of one app; its node id is the app's name."""

    def __init__(self, *, entry: AppEntry, verify: VerifySession, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.verify = verify

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        # On an xdist worker the id carries its bucket's group ("@group" is what
        # --dist loadgroup schedules by), written here rather than through the
        # xdist_group mark: xdist's own rewrite of node ids is lost on pytest 9.2.
        group = f"@posthog-verify-{self.entry.bucket}" if _on_xdist_worker(self.config) else ""
        items: list[pytest.Item | pytest.Collector] = [
            CheckItem.from_parent(
                self,
                name=check_id,
                nodeid=f"{self.entry.name}::{check_id}{group}",
                check_id=check_id,
            )
            for check_id in self.verify.check_ids
            if self.verify.selection.wants(self.entry.name, check_id)
        ]
        return items


def _on_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class CheckItem(pytest.Item):
    """One check's verdict on one app."""

    parent: AppCollector

    def __init__(self, *, check_id: str, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.check_id = check_id
        self.result: Result | None = None
        self.message = ""

    def setup(self) -> None:
        entry = self.parent.entry
        outcome = self.parent.verify.outcome(entry)
        self.result = outcome.shown_result(self.check_id, base=self.parent.verify.base)
        verify = self.parent.verify
        value = outcome.item_property(
            self.check_id, base=verify.base, with_facts=verify.first_report(entry)
        )
        self.user_properties.append((RESULT_PROPERTY, value))
        # The failed steps go with every fail and error (--junitxml's message too).
        self.message = format_result(self.result) + _steps_block(outcome.facts.get("steps", ()))
        if self.result.status is Status.ERROR:
            # Raised in setup so pytest counts an error, not a fail; without a
            # traceback, because the harness's frames say nothing to the user.
            pytest.fail(self.message, pytrace=False)
        if self.result.status is Status.SKIP:
            pytest.skip(self.result.summary)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.status is Status.FAIL:
            raise CheckFailed(self.message)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: t.Any = None,
    ) -> str | t.Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.parent.entry.path, None, f"{self.parent.entry.name}::{self.check_id}"
