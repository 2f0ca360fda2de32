"""Fault injection for the mock: answer with errors, late, or not at all.

A :class:`Faults` holds a chain of small rules, each a callable that looks at
a request's kind and may claim it (and use itself up). Both front ends consult
the same object through the store, so a test arms a fault once::

    server.faults.fail_next(status=500)         # the next capture batch gets 500
    server.faults.statuses([503, 429])          # then 503, then 429, then 200s
    server.faults.delay(2.0, kind=RequestKind.FLAGS)
    server.faults.drop_next()                   # close the connection, no answer

``delay`` is honoured by the loopback server only (the in-process front end
cannot hold a request without blocking the app's thread); ``drop`` becomes a
:class:`requests.ConnectionError` in process.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

from harness.capture.records import RequestKind


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the faults decided for one request; the defaults mean "none"."""

    status: int | None = None
    delay_s: float = 0.0
    drop: bool = False


Rule = t.Callable[[RequestKind], "Outcome | None"]


class _Counted:
    """Claims the next ``len(outcomes)`` requests of ``kind`` (None: any),
    giving each the next outcome, then claims nothing."""

    def __init__(self, kind: RequestKind | None, outcomes: t.Sequence[Outcome]) -> None:
        self.kind = kind
        self.pending = list(outcomes)

    def __call__(self, kind: RequestKind) -> Outcome | None:
        if not self.pending or (self.kind is not None and kind is not self.kind):
            return None
        return self.pending.pop(0)

    @property
    def spent(self) -> bool:
        return not self.pending


class _Always:
    """Claims every request of ``kind`` until reset (used for delays)."""

    def __init__(self, kind: RequestKind | None, outcome: Outcome) -> None:
        self.kind = kind
        self.outcome = outcome
        self.spent = False

    def __call__(self, kind: RequestKind) -> Outcome | None:
        if self.kind is not None and kind is not self.kind:
            return None
        return self.outcome


class Faults:
    """The armed faults, thread-safe.

    A request takes the answer of the first armed answer rule (status or drop)
    that claims it, plus the sum of every delay rule that claims it, so
    ``delay`` combines with ``fail_next``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: list[Rule] = []
        self._delays: list[Rule] = []

    def fail_next(
        self, count: int = 1, status: int = 500, kind: RequestKind | None = RequestKind.CAPTURE
    ) -> None:
        """Answer the next ``count`` requests of ``kind`` with ``status``."""
        self.add(_Counted(kind, [Outcome(status=status)] * count))

    def statuses(
        self, seq: t.Sequence[int], kind: RequestKind | None = RequestKind.CAPTURE
    ) -> None:
        """Answer the next ``len(seq)`` requests with these statuses, then 200."""
        self.add(_Counted(kind, [Outcome(status=s) for s in seq]))

    def drop_next(self, count: int = 1, kind: RequestKind | None = RequestKind.CAPTURE) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        self.add(_Counted(kind, [Outcome(drop=True)] * count))

    def delay(
        self,
        seconds: float,
        kind: RequestKind | None = RequestKind.CAPTURE,
        count: int | None = None,
    ) -> None:
        """Hold every answer (or the next ``count``) ``seconds`` before sending it."""
        outcome = Outcome(delay_s=seconds)
        rule = _Always(kind, outcome) if count is None else _Counted(kind, [outcome] * count)
        self.add(rule, delay=True)

    def add(self, rule: Rule, *, delay: bool = False) -> None:
        """Arm any callable ``(kind) -> Outcome | None``; ``delay=True`` puts it
        among the rules whose delays add up rather than the answer rules."""
        with self._lock:
            (self._delays if delay else self._answers).append(rule)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self._delays.clear()

    @property
    def armed(self) -> bool:
        """True while some rule can still claim a request."""
        with self._lock:
            rules = self._answers + self._delays
            return any(not getattr(r, "spent", False) for r in rules)

    def apply(self, kind: RequestKind) -> Outcome:
        """Consume the rules that claim a request of ``kind`` and merge them."""
        with self._lock:
            answer = next((o for o in (r(kind) for r in self._answers) if o), Outcome())
            delay = sum(o.delay_s for o in (r(kind) for r in self._delays) if o)
            self._answers = [r for r in self._answers if not getattr(r, "spent", False)]
            self._delays = [r for r in self._delays if not getattr(r, "spent", False)]
        return dataclasses.replace(answer, delay_s=answer.delay_s + delay)
