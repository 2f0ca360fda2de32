"""The HTML grade book: self-contained, ranked, escaped, small at 500 apps, and
usable in a real browser (sorting, filtering, a cell opening its evidence)."""

from __future__ import annotations

import re
import shutil
import time
import typing as t
from pathlib import Path

import pytest
from report_fake_runs import fake_run
from report_webdriver import chromium

from harness.checks.ids import CHECK_IDS
from harness.report import AppReport
from harness.report import build_report
from harness.report import html_report
from harness.report.facts import run_facts
from harness.verdict import Status

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _apps(make_app: t.Any) -> list[AppReport]:
    errored = dict.fromkeys(CHECK_IDS, Status.ERROR) | {"boots": Status.FAIL}
    leak = [{"event": "page_viewed", "path": "properties.email", "value": "«pv@example.com»"}]
    return [
        make_app("delta_noboot", statuses=errored, facts=run_facts(fake_run("delta_noboot"))),
        make_app(
            "beta_leak",
            statuses={"no_pii_in_events": Status.FAIL},
            evidence=leak,
            facts=run_facts(fake_run("beta_leak", failing_step=True)),
        ),
        make_app("gamma_host", statuses={"host_from_env": Status.FAIL}),
        make_app("alpha_clean", facts=run_facts(fake_run("alpha_clean"))),
        make_app("epsilon_warn", statuses={"boots_without_posthog_env": Status.WARN}),
    ]


@pytest.fixture
def book(make_app: t.Any, versions: dict[str, str], tmp_path: Path) -> Path:
    path = tmp_path / "grades.html"
    path.write_text(html_report(build_report(_apps(make_app), versions=versions)), "utf-8")
    return path


def test_rows_are_ranked_with_score_and_reason(book: Path) -> None:
    text = book.read_text()
    names = re.findall(r'<td class="app" title="[^"]*">([^<]+)</td>', text)
    assert names == ["alpha_clean", "epsilon_warn", "gamma_host", "beta_leak", "delta_noboot"]
    assert "fails no_pii_in_events (blocking)" in text
    assert "does not boot: boots is fail for delta_noboot" in text


def test_the_file_is_self_contained(book: Path) -> None:
    text = book.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "<link" not in text
    assert "@import" not in text


def test_text_from_an_app_cannot_break_out(make_app: t.Any, versions: dict[str, str]) -> None:
    evil = make_app(
        "<script>alert(1)</script>",
        statuses={"boots": Status.FAIL},
        evidence=[{"value": "</script><script>alert(2)</script>"}],
    )
    text = html_report(build_report([evil], versions=versions))
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_500_apps_stay_small(make_app: t.Any, versions: dict[str, str]) -> None:
    text = html_report(_big_report(make_app, versions))
    assert len(text.encode()) < 8_000_000  # about 16 kB an app at most, evidence cut to its budget


def _big_report(make_app: t.Any, versions: dict[str, str]) -> dict[str, t.Any]:
    big_evidence = [{"event": "e", "value": "x" * 5_000, "n": i} for i in range(20)]
    facts = run_facts(fake_run("x", failing_step=True))
    apps = [
        make_app(
            f"app{i:03d}",
            statuses={CHECK_IDS[i % 17]: Status.FAIL, CHECK_IDS[(i + 3) % 17]: Status.WARN},
            evidence=big_evidence,
            facts=facts,
        )
        for i in range(500)
    ]
    return build_report(apps, versions=versions)


def _shown_apps(browser: t.Any) -> list[str]:
    return [name for name in browser.texts("#grid tbody td.app") if name]


@pytest.mark.slow
def test_in_a_real_browser_sorting_filtering_and_evidence(book: Path, tmp_path: Path) -> None:
    with chromium() as browser:
        browser.get(book.as_uri())
        assert browser.text("#title").startswith("posthog-verify: 2 of 5 app(s) pass, 3 failed")
        assert _shown_apps(browser) == [
            "alpha_clean",
            "epsilon_warn",
            "gamma_host",
            "beta_leak",
            "delta_noboot",
        ]
        browser.click("#grid thead th[data-key=app]")
        assert _shown_apps(browser) == sorted(_shown_apps(browser))
        browser.click("#grid thead th[data-check=no_pii_in_events]")  # worst first
        assert _shown_apps(browser)[:2] == ["delta_noboot", "beta_leak"]
        browser.click("#grid thead th[data-key=score]")  # best first
        assert _shown_apps(browser)[0] == "alpha_clean"
        assert _shown_apps(browser)[-1] == "delta_noboot"
        browser.click("#grid thead th[data-key=score]")  # again: worst first
        assert _shown_apps(browser)[0] == "delta_noboot"

        browser.screenshot(tmp_path / "gradebook-sorted.png")
        _keep(tmp_path / "gradebook-sorted.png")
        browser.select("#filter", "fail")
        assert sorted(_shown_apps(browser)) == ["beta_leak", "delta_noboot", "gamma_host"]
        assert browser.text("#count") == "3 of 5 apps shown"

        browser.click("#grid tbody tr[data-app=beta_leak] td.s-fail")
        assert browser.text("#detail h2") == "beta_leak :: no_pii_in_events"
        assert "no_pii_in_events is fail for beta_leak" in browser.text("#verdict")
        assert "properties.email" in browser.text("#detail pre.evidence")
        signup = " ".join(browser.texts("#steps tr[data-step='1']"))
        assert "POST /signup" in signup
        assert "found the signup form at /signup" in signup
        failed = " ".join(browser.texts("#steps tr[data-step='2']"))
        assert "500" in failed
        assert "failed" in failed
        assert "sqlite3.OperationalError: no such table: note at app/views.py:42" in failed
        assert "isolation: network+pid namespaces" in browser.text("#detail")
        assert "api.stripe.com:443 unreachable (step 1)" in browser.text("#connections")
        shot = tmp_path / "gradebook.png"
        browser.screenshot(shot)
        _keep(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_in_a_real_browser_500_apps_sort_without_freezing(
    make_app: t.Any, versions: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "big.html"
    path.write_text(html_report(_big_report(make_app, versions)), "utf-8")
    with chromium() as browser:
        started = time.perf_counter()
        browser.get(path.as_uri())
        loaded = time.perf_counter() - started
        sort_ms = browser.script(
            "var t = performance.now();"
            "document.querySelector('th[data-check=no_pii_in_events]').click();"
            "return performance.now() - t;"
        )
        assert len(_shown_apps(browser)) == 500
        browser.select("#filter", "warn")
        assert browser.text("#count").endswith("of 500 apps shown")
        browser.click("#grid tbody tr td.s-fail")
        assert browser.find_all("#detail pre.evidence")
        print(f"500 apps: page loaded in {loaded:.2f} s, a sort took {sort_ms:.0f} ms")
        assert loaded < 15.0
        assert sort_ms < 1000


def _keep(shot: Path) -> None:
    """A copy outside the tmp dir, for a person (or CI's artifacts) to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / shot.name)
