"""exception_captured, flush_on_shutdown, no_silent_drops: both ways, with evidence."""

from __future__ import annotations

import dataclasses
import json

import pytest
from checks_runs import ANON
from checks_runs import APP_PY
from checks_runs import SPECS
from checks_runs import Spec
from checks_runs import build
from checks_runs import edit
from checks_runs import edit_uuid
from checks_runs import good_run

from harness.checks import exception_captured
from harness.checks import flush_on_shutdown
from harness.checks import no_silent_drops
from harness.run import AtexitRegistration
from harness.run import ProcessOutcome
from harness.run import Run
from harness.run import SourceLocation
from harness.run import StaticFacts
from harness.verdict import Status

PROBE_UUID = "00000000-0000-4000-8000-000000000010"


@pytest.mark.parametrize(
    "check", [exception_captured, flush_on_shutdown, no_silent_drops], ids=lambda f: f.__name__
)
def test_good_run_passes(check) -> None:
    assert check(good_run()).status is Status.PASS


def _probe_answers(status: int):
    run = good_run()
    probe = dataclasses.replace(run.exchanges[9], status=status)
    return dataclasses.replace(run, exchanges=(*run.exchanges[:9], probe, *run.exchanges[10:]))


def test_exception_captured_fails_when_no_exception_event_arrived() -> None:
    verdict = exception_captured(build(edit(SPECS, "$exception", arrives=False)))
    assert verdict.status is Status.FAIL
    assert "GET /__posthog_verify__/raise raised but no $exception arrived" in verdict.summary
    assert verdict.evidence[0]["request"] == "GET /__posthog_verify__/raise (step 9: probe)"
    assert {e.get("event") for e in verdict.evidence[1:]} == {"page_viewed"}
    assert "Flask re-raises" not in verdict.summary  # nothing says it propagated


def test_a_missing_exception_names_flasks_re_raise_when_the_app_propagates() -> None:
    run = build(
        edit(SPECS, "$exception", arrives=False), propagated={9: "app.debug is True (DEBUG)"}
    )
    verdict = exception_captured(run)
    assert verdict.status is Status.FAIL
    assert (
        "raised but no $exception arrived (app.debug is True (DEBUG): Flask re-raises the "
        "view's exception, so the app's error handlers do not run" in verdict.summary
    )


def test_exception_captured_fails_on_duplicates_quoting_both_uuids() -> None:
    twin = dataclasses.replace(SPECS[9], uuid="00000000-0000-4000-8000-000000000099")
    verdict = exception_captured(build((*SPECS, twin)))
    assert verdict.status is Status.FAIL
    assert PROBE_UUID in verdict.summary
    assert twin.uuid in verdict.summary
    assert {e["uuid"] for e in verdict.evidence} == {PROBE_UUID, twin.uuid}


def test_exception_captured_fails_on_the_wrong_type() -> None:
    props = {"$exception_list": [{"type": "InternalServerError", "value": "500"}]}
    verdict = exception_captured(build(edit(SPECS, "$exception", properties=props)))
    assert verdict.status is Status.FAIL
    assert "'InternalServerError'" in verdict.summary
    assert verdict.evidence[0]["uuid"] == PROBE_UUID


def test_exception_captured_fails_when_the_error_is_swallowed_into_a_200() -> None:
    verdict = exception_captured(_probe_answers(200))
    assert verdict.status is Status.FAIL
    assert "answered 200" in verdict.summary
    assert verdict.evidence[0]["status"] == 200


def test_exception_captured_fails_on_another_distinct_id() -> None:
    verdict = exception_captured(build(edit(SPECS, "$exception", distinct_id="random-1")))
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["header"] == ANON
    assert "'random-1'" in verdict.evidence[0]["note"]


def test_exception_distinct_id_is_left_to_the_header_check_when_no_event_follows_it() -> None:
    specs = tuple(
        dataclasses.replace(s, distinct_id=f"random-{i}") if s.distinct_id == ANON else s
        for i, s in enumerate(SPECS)
    )
    assert exception_captured(build(specs)).status is Status.PASS


def test_exception_found_by_the_probe_canary_without_attribution() -> None:
    verdict = exception_captured(build(edit(SPECS, "$exception", step=None)))
    assert verdict.status is Status.PASS


def test_exception_captured_skips_without_a_probe() -> None:
    run = good_run()
    run = dataclasses.replace(
        run,
        exchanges=tuple(x for x in run.exchanges if x.kind != "probe"),
        steps_skipped={"probe": "the probe route could not be added: app is not Flask"},
    )
    verdict = exception_captured(run)
    assert (verdict.status, verdict.summary) == (
        Status.SKIP,
        "the probe route could not be added: app is not Flask",
    )


def test_flush_fails_listing_the_missing_uuids_exit_code_and_duration() -> None:
    run = good_run()
    lost = {e.uuid for e in run.events if e.request_seq == 2}
    never_sent = tuple(e for e in run.events if e.uuid not in lost)
    verdict = flush_on_shutdown(dataclasses.replace(run, events=never_sent))
    assert verdict.status is Status.FAIL
    assert verdict.summary == (
        "3 of 11 queued events never arrived (exit code 0, stopped by SIGTERM in 1.40 s)"
    )
    missing = {(e["event"], e["uuid"]) for e in verdict.evidence if "uuid" in e}
    assert ("$exception", PROBE_UUID) in missing
    assert len(missing) == 3


def test_flush_and_drops_agree_on_events_refused_at_stop_and_never_retried() -> None:
    """Events that reached the mock only in the batch refused at stop: the
    flush fails saying so, and no_silent_drops (which counts what reached the
    mock) passes pointing to it, not claiming the opposite."""
    run = good_run()
    never_retried = tuple(e for e in run.events if e.request_seq != 2)
    verdict = flush_on_shutdown(dataclasses.replace(run, events=never_retried))
    assert verdict.status is Status.FAIL
    assert verdict.summary == (
        "3 of 11 queued events were refused at stop and never retried: they reached the "
        "mock in the batch it answered 500 after the stop signal "
        "(exit code 0, stopped by SIGTERM in 1.40 s)"
    )
    drops = no_silent_drops(dataclasses.replace(run, events=never_retried))
    assert drops.status is Status.PASS
    assert "(3 only in a batch refused at stop and never retried: see flush_on_shutdown)" in (
        drops.summary
    )


def test_flush_counts_refused_and_never_sent_apart() -> None:
    run = good_run()
    retried = [e.uuid for e in run.events if e.request_seq == 2]
    gone = {retried[0]}
    events = tuple(e for e in run.events if e.request_seq != 2 and e.uuid not in gone)
    verdict = flush_on_shutdown(dataclasses.replace(run, events=events))
    assert verdict.summary.startswith(
        "3 of 11 queued events were not delivered: 2 refused at stop and never retried, "
        "1 never reached the mock (exit code 0"
    )


def test_flush_fails_when_nothing_was_produced() -> None:
    verdict = flush_on_shutdown(good_run(enqueued=()))
    assert (verdict.status, verdict.summary) == (Status.FAIL, "no events were produced")


@pytest.mark.parametrize(
    "process",
    [
        pytest.param(ProcessOutcome(1, -9, "SIGKILL", 10.0), id="sigkill"),
        pytest.param(ProcessOutcome(1, -9, "SIGTERM", 10.0), id="exit-minus-9"),
    ],
)
def test_flush_errors_when_the_process_had_to_be_killed(process: ProcessOutcome) -> None:
    verdict = flush_on_shutdown(good_run(process=process))
    assert verdict.status is Status.ERROR
    assert "had to be killed (exit code -9)" in verdict.summary


def test_flush_errors_when_the_stop_fault_was_not_armed() -> None:
    assert flush_on_shutdown(good_run(stop_fault_armed=False)).status is Status.ERROR


#: A module-level capture with no configured client: the SDK returns no uuid.
MODULE_CALL_DROPPED = Spec(
    "00000000-0000-4000-8000-000000000077",
    "signup_tracked",
    2,
    "user_42",
    via="module",
    line=63,
    arrives=False,
    returns_uuid=False,
)


def test_no_silent_drops_fails_on_a_module_call_that_went_nowhere() -> None:
    verdict = no_silent_drops(build((*SPECS, MODULE_CALL_DROPPED)))
    assert verdict.status is Status.FAIL
    assert verdict.summary == (
        "1 of 12 calls produced nothing at the mock, e.g. module capture() at app.py:63"
    )
    item = verdict.evidence[0]
    assert item["location"] == "app.py:63"
    assert "no configured client" in item["note"]


def test_no_silent_drops_fails_on_a_uuid_that_never_arrived() -> None:
    verdict = no_silent_drops(build(edit(SPECS, "note_created", arrives=False)))
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["uuid"] == "00000000-0000-4000-8000-000000000005"
    assert "never reached the mock" in verdict.evidence[0]["note"]


def test_a_second_capture_of_an_already_captured_exception_is_not_a_drop() -> None:
    again = Spec(
        "00000000-0000-4000-8000-000000000088",
        "$exception",
        9,
        ANON,
        method="capture_exception",
        returns_uuid=False,
        arrives=False,
    )
    assert no_silent_drops(build((*SPECS, again))).status is Status.PASS


def test_no_silent_drops_skips_when_the_app_made_no_calls() -> None:
    verdict = no_silent_drops(good_run(capture_calls=()))
    assert verdict.status is Status.SKIP


def test_flush_counts_a_retried_event_once_acknowledged() -> None:
    run = build(edit_uuid(SPECS, PROBE_UUID, batch=1))
    assert sum(e.uuid == PROBE_UUID for e in run.events) == 2
    assert flush_on_shutdown(run).status is Status.PASS


def _nothing_queued_at_stop(**overrides: object) -> Run:
    """Every event delivered during the run (an app flushing every few ms):
    no batch met the 500 armed at the stop signal."""
    specs = tuple(dataclasses.replace(s, batch=0) for s in SPECS)
    run = build(specs, **overrides)
    refused = tuple(r for r in run.requests if not r.acknowledged)
    assert refused  # the builder's wire still has the 500; drop it
    return dataclasses.replace(run, requests=tuple(r for r in run.requests if r.acknowledged))


def test_flush_warns_when_exit_was_not_exercised_and_no_shutdown_is_registered() -> None:
    run = _nothing_queued_at_stop(atexit=())
    verdict = flush_on_shutdown(dataclasses.replace(run, static=StaticFacts()))
    assert verdict.status is Status.WARN
    assert "nothing was still queued when the app stopped" in verdict.summary
    assert "no client.shutdown()/flush() is registered with atexit" in verdict.summary


def test_flush_warns_when_delivered_in_the_sdks_own_budget_without_a_shutdown() -> None:
    verdict = flush_on_shutdown(good_run(atexit=(), static=StaticFacts()))
    assert verdict.status is Status.WARN
    assert "within the SDK's own 1 s exit budget this time" in verdict.summary


def _wrapper_registered(line: int) -> tuple[AtexitRegistration, ...]:
    """The app registered a function of its own (not a client method) at ``line``."""
    return (AtexitRegistration("_flush", False, None, "boot", SourceLocation(APP_PY, line)),)


def test_flush_counts_a_function_of_the_apps_that_the_source_shows_calling_shutdown() -> None:
    assert flush_on_shutdown(good_run(atexit=_wrapper_registered(14))).status is Status.PASS


def test_flush_ignores_a_flush_site_that_was_never_registered_while_serving() -> None:
    """E.g. atexit.register(client.shutdown) under if __name__ == "__main__"."""
    verdict = flush_on_shutdown(good_run(atexit=_wrapper_registered(40)))
    assert verdict.status is Status.WARN


def test_flush_ignores_the_modules_shutdown_when_the_app_uses_its_own_instance() -> None:
    module_shutdown = (AtexitRegistration("shutdown", True, None, "boot", None),)
    verdict = flush_on_shutdown(good_run(atexit=module_shutdown))
    assert verdict.status is Status.WARN


def test_flush_passes_when_exit_was_not_exercised_but_shutdown_is_registered() -> None:
    assert flush_on_shutdown(_nothing_queued_at_stop()).status is Status.PASS


def _probe_answered(status: int) -> tuple:
    return tuple(
        dataclasses.replace(x, status=status) if x.kind == "probe" else x
        for x in good_run().exchanges
    )


def test_a_probe_stopped_by_a_login_guard_is_not_judged() -> None:
    run = good_run(exchanges=_probe_answered(302), probe_entered=())
    verdict = exception_captured(run)
    assert verdict.status is Status.ERROR
    assert "with 302 before the probe's view ran (a login guard?)" in verdict.summary


def test_a_probe_whose_view_ran_and_was_answered_with_a_redirect_fails() -> None:
    probe = next(x.index for x in good_run().exchanges if x.kind == "probe")
    run = good_run(exchanges=_probe_answered(302), probe_entered=(probe,))
    assert exception_captured(run).status is Status.FAIL


def test_redirects_followed_after_a_probe_are_not_judged_as_raising_requests() -> None:
    run = good_run()
    probe = next(x for x in run.exchanges if x.kind == "probe")
    hop = dataclasses.replace(probe, index=99, path="/login", status=200, redirect_of=probe.index)
    verdict = exception_captured(dataclasses.replace(run, exchanges=(*run.exchanges, hop)))
    assert verdict.status is Status.PASS


def test_a_call_that_raised_is_quoted_as_raising_not_as_dropped() -> None:
    run = good_run()
    calls = tuple(
        dataclasses.replace(c, uuid=None, raised="TypeError: missing 1 required argument")
        if c.event == "note_created"
        else c
        for c in run.capture_calls
    )
    verdict = no_silent_drops(dataclasses.replace(run, capture_calls=calls))
    assert verdict.status is Status.FAIL
    assert "the call raised TypeError: missing 1 required argument" in json.dumps(verdict.evidence)


KILLED_AT_STOP = ProcessOutcome(1, -9, "SIGKILL after SIGTERM timeout (10 s)", 10.0)


def test_a_stop_killed_at_its_deadline_leaves_undelivered_calls_unjudged() -> None:
    """What had not arrived when the harness killed the stop may have been on
    its way (a loaded machine, the SDK's retry): error, never the app's fail."""
    run = build(edit(SPECS, "note_created", arrives=False))
    verdict = no_silent_drops(dataclasses.replace(run, process=KILLED_AT_STOP))
    assert verdict.status is Status.ERROR
    assert verdict.summary == (
        "not judged: 1 call had not reached the mock when the stop was killed at its "
        "deadline (SIGKILL after SIGTERM timeout (10 s)): see flush_on_shutdown"
    )


def test_a_call_the_sdk_refused_is_a_drop_even_when_the_stop_was_killed() -> None:
    run = build((*edit(SPECS, "note_created", arrives=False), MODULE_CALL_DROPPED))
    verdict = no_silent_drops(dataclasses.replace(run, process=KILLED_AT_STOP))
    assert verdict.status is Status.FAIL
    assert [item["location"] for item in verdict.evidence] == ["app.py:63"]  # not the cut one


#: A sync_mode client's call during the stop: its one send met the mock's
#: refusal, so the SDK returned no uuid (it never retries).
SENT_INTO_THE_REFUSAL = Spec(
    "00000000-0000-4000-8000-000000000099", "logged_out", 6, "user_42", batch=1, returns_uuid=False
)


def _refused_only(run: Run, uuid: str) -> Run:
    """``run`` without the retry that delivered ``uuid``: it reached the mock
    only in the batch refused at stop."""
    kept = tuple(e for e in run.events if not (e.uuid == uuid and e.acknowledged))
    return dataclasses.replace(run, events=kept)


def test_a_sync_send_refused_at_stop_reached_the_mock_and_is_no_drop() -> None:
    run = _refused_only(build((*SPECS, SENT_INTO_THE_REFUSAL)), SENT_INTO_THE_REFUSAL.uuid)
    verdict = no_silent_drops(run)
    assert verdict.status is Status.PASS
    assert verdict.summary == (
        "all 12 calls reached the mock (1 call of a sync_mode client sent into the mock's "
        "refusal at stop: sync_mode sends once and returns no uuid when that fails)"
    )


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(dataclasses.replace(SENT_INTO_THE_REFUSAL, arrives=False), id="never-sent"),
        pytest.param(
            dataclasses.replace(SENT_INTO_THE_REFUSAL, distinct_id="someone_else"),
            id="the-refused-event-is-another-persons",
        ),
    ],
)
def test_a_call_with_no_uuid_and_no_refused_event_of_its_own_is_a_drop(spec: Spec) -> None:
    run = build((*SPECS, spec))
    run = _refused_only(run, spec.uuid)
    call = dataclasses.replace(run.capture_calls[-1], distinct_id="user_42")
    verdict = no_silent_drops(
        dataclasses.replace(run, capture_calls=(*run.capture_calls[:-1], call))
    )
    assert verdict.status is Status.FAIL
    assert verdict.evidence[0]["event"] == "logged_out"
    assert "returned no uuid: the SDK dropped it" in verdict.evidence[0]["note"]
