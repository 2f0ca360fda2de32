"""Which baseline each app is compared with (harness/session.py): the
command line's for every app, else the app's manifest ``baseline``; one
baseline Run per path however many apps share it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness import session as session_mod
from harness.run import AppRef
from harness.run import Run
from harness.session import AppEntry
from harness.session import VerifySession
from harness.verify import Options


def _app(root: Path, manifest: str | None = None) -> Path:
    root.mkdir(parents=True)
    if manifest is not None:
        (root / "posthog-verify.toml").write_text(manifest)
    return root


def _session(options: Options, *apps: Path) -> VerifySession:
    entries = [AppEntry(p.name, p, 0) for p in apps]
    return VerifySession(entries, options, concurrency=1)


def test_the_manifest_names_each_apps_baseline_and_the_option_wins(tmp_path: Path) -> None:
    before = _app(tmp_path / "before")
    own = _app(tmp_path / "outputs" / "one", 'baseline = "../../before"\n')
    none = _app(tmp_path / "outputs" / "two")
    broken = _app(tmp_path / "outputs" / "three", "baseline = 3\n")
    session = _session(Options(), own, none, broken)
    try:
        assert session.baseline_of(own) == before.resolve()
        assert session.baseline_of(none) is None
        assert session.baseline_of(broken) is None  # verify_app reports the manifest's fault
    finally:
        session.close()
    given = tmp_path / "given"
    session = _session(Options(baseline=given), own, none)
    try:
        assert session.baseline_of(own) == given
        assert session.baseline_of(none) == given
    finally:
        session.close()


def test_a_baseline_is_verified_once_per_path_with_its_own_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, Options]] = []
    lock = threading.Lock()

    def fake_verify(path: Path, *, name: str, options: Options) -> Run:
        with lock:
            calls.append((path, options))
        return Run(app=AppRef(name=name, root=str(path)))

    monkeypatch.setattr(session_mod, "verify_app", fake_verify)
    first, second = _app(tmp_path / "a"), _app(tmp_path / "b")
    session = _session(Options(baseline=first))
    try:
        runs = [session.baseline_run(p) for p in (first, first, second, first)]
    finally:
        session.close()
    assert [Path(r.app.root) for r in runs] == [first, first, second, first]
    assert runs[0] is runs[1] is runs[3]
    assert [path for path, _ in calls] == [first, second]
    assert all(o.own_suite and o.baseline is None for _, o in calls)


def test_a_fault_verifying_the_baseline_costs_only_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_verify(path: Path, *, name: str, options: Options) -> Run:
        if name == "baseline":
            raise RuntimeError("the baseline's workspace vanished")
        return Run(app=AppRef(name=name, root=str(path)))

    monkeypatch.setattr(session_mod, "verify_app", fake_verify)
    before, app = _app(tmp_path / "before"), _app(tmp_path / "app")
    session = _session(Options(baseline=before), app)
    try:
        results = session.outcome(AppEntry(app.name, app, 0)).results
    finally:
        session.close()
    preserved = results["behaviour_preserved"]
    assert preserved.status.value == "error"
    assert (
        "harness fault while verifying the baseline: RuntimeError: the baseline's "
        "workspace vanished" in preserved.summary
    )
    own = {c: r for c, r in results.items() if c != "behaviour_preserved"}
    assert not any("harness fault" in r.summary for r in own.values()), own
