"""Who is blamed for a scenario step that failed: the one rule, in one place.

A step *failed* when one of its exchanges answered 5xx with an exception the
child recorded, got no answer by the request deadline, or the process died
while serving it (:attr:`harness.run.Exchange.failure`). A 5xx without an
exception (a view that returns 500 on purpose) is an answer, judged by the
checks as usual; so is the probe's own exception, and an exception on a
manifest ``[errors]`` path, which are what those steps are for.

The rule (docs/checks.md, "Failed steps and who is blamed")::

    verdicts = blame_verdicts(run, ids)   # check id -> Result, for the checks it decides

0. First, **the SDK predates an API the app calls** (``StepFailure.sdk_too_old``,
   :data:`harness.subject.runtime.SDK_API_SINCE`): every check but the two
   that judge the client's construction is ``error``, naming the API and the
   release that has it, as for an app importing a module its SDK lacks.
   Then **the app forces TLS**: every request was answered with a redirect to
   ``https://`` (the harness serves plain http): every check that needs the
   flows (``boots`` aside, which only needs an answer) is ``error`` naming
   the cause and the fix (the app's own switch in the manifest's ``[env]``).
   **The client is disabled**: every keyed client was built with
   ``disabled=True`` and no event reached the mock: the checks that read what
   was sent are ``fail`` for a literal ``disabled=True``, ``error`` naming the
   condition for one that depends on the app's settings.
1. **The app cannot serve its flows**: every scenario request (the probe and
   ``[errors]`` paths aside) failed. Every check that needs the flows is
   decided: the integration's ``fail`` when a failure ran through PostHog code
   or code that calls it (``in_integration``), quoted with its traceback;
   otherwise ``error``, "not judged: the app answered 500 to every request".
   ``boots_without_posthog_env``, ``single_client`` and ``exception_autocapture``
   judge the other boot or the client's construction, not the flows, and are
   left to their own rules.
2. **A check whose evidence rests on a failed step** (:func:`needed`) is the
   integration's ``fail`` when the failure is ``in_integration``, and ``error``
   naming the step and the cause otherwise, never ``fail``: a database without
   its tables, a setting the app lacks or a hang are not the integration's.
   The header checks read many requests alike (:data:`ANY_OF`): they are
   judged on the requests that were served, and decided here only when none was.

Anything not decided here is judged by the check itself. With a baseline
(:func:`with_baseline`), whether a failure is the integration's is decided by
comparing with the same app before the integration instead of the traceback.
"""

from __future__ import annotations

import dataclasses
import typing as t

from harness.checks._events import evidence
from harness.checks._events import result
from harness.checks.identity import window
from harness.run import LOGIN_AFTER_SIGNUP
from harness.scenario.outcomes import EXPECTED_TO_RAISE as _EXPECTED_TO_RAISE
from harness.scenario.outcomes import step_failed as failed
from harness.verdict import Status

if t.TYPE_CHECKING:
    from harness.run import BootFailure
    from harness.run import ClientConstruction
    from harness.run import Exchange
    from harness.run import Run
    from harness.run import StepFailure
    from harness.verdict import Result

#: Checks that judge the other boot or how the client was built, not the flows.
NOT_FLOW_CHECKS = frozenset({"boots_without_posthog_env", "single_client", "exception_autocapture"})
#: Checks that judge how the client was built, whatever the SDK lacked later.
CONSTRUCTION_CHECKS = frozenset({"single_client", "exception_autocapture"})
#: Checks that read many requests alike: judged on those that were served, and
#: decided here only when none was.
ANY_OF = frozenset({"distinct_id_from_header", "session_id_from_header"})
#: Judged only when the app runs as a server: in process they skip, whatever failed.
SERVER_ONLY = frozenset({"flush_on_shutdown", "boots_without_posthog_env"})
_IDENTITY_KINDS = frozenset({"signup", "login", "logout"})
_CANARY_KINDS = frozenset({"signup", "login", "api"})
_TYPED_AT_SIGNUP = frozenset({"signup", "api"})
_TRACEBACK_CHARS = 1500


def needed(run: Run, check: str) -> tuple[Exchange, ...]:
    """The exchanges ``check``'s evidence rests on."""
    exchanges = run.exchanges
    if check == "boots":
        first = [x for x in exchanges if x.method == "GET" and x.path.split("?")[0] == "/"]
        return tuple(first[:1] or exchanges[:1])
    if check in ("identify_on_signup", "identify_on_login"):
        span = window(run, "signup" if check == "identify_on_signup" else "login")
        relogin = tuple(x for x in exchanges if x.step == LOGIN_AFTER_SIGNUP)
        return span.own + span.later + (relogin if check == "identify_on_signup" else ())
    if check == "exception_captured":
        return tuple(x for x in exchanges if x.kind in _EXPECTED_TO_RAISE)
    if check == "distinct_id_from_header":
        return tuple(
            x
            for x in exchanges
            if x.user == "anonymous" and x.distinct_id_header and x.kind not in _IDENTITY_KINDS
        )
    if check == "session_id_from_header":
        return tuple(exchanges)
    if check == "no_pii_in_events":
        # The signup (and the API call) type every canary; a login types only what
        # the signup already gave, so its failure alone leaves the check judged.
        signed_up = any(x.kind == "signup" for x in exchanges)
        typed = _TYPED_AT_SIGNUP if signed_up else _CANARY_KINDS
        return tuple(x for x in exchanges if x.kind in typed)
    return ()


def blame_verdicts(run: Run, ids: t.Iterable[str]) -> dict[str, Result]:
    """The checks a failed step decides, by id (see the module docs)."""
    ids = tuple(i for i in ids if run.mode == "server" or i not in SERVER_ONLY)
    too_old = next((x for x in run.exchanges if x.failure and x.failure.sdk_too_old), None)
    if too_old is not None:
        return _sdk_too_old(too_old, [i for i in ids if i not in CONSTRUCTION_CHECKS])
    flows = [x for x in run.exchanges if x.kind not in _EXPECTED_TO_RAISE]
    forced = _forces_tls(run.exchanges)
    if forced is not None:
        return _not_over_http(forced, [i for i in ids if i not in NOT_FLOW_CHECKS | {"boots"}])
    disabled = disabled_verdicts(run, [i for i in ids if i not in NOT_FLOW_CHECKS | {"boots"}])
    if disabled:
        return disabled
    if flows and all(failed(x) for x in flows):
        return _cannot_serve(flows, [i for i in ids if i not in NOT_FLOW_CHECKS])
    verdicts: dict[str, Result] = {}
    for check in ids:
        rests_on = needed(run, check)
        broken = [x for x in rests_on if failed(x)]
        if check in ANY_OF and len(broken) < len(rests_on):
            continue  # the requests that were served are evidence enough
        if broken:
            verdicts[check] = _blamed(check, _first_cause(broken))
    return verdicts


def https_redirect(exchange: Exchange) -> str | None:
    """The ``https://`` URL a plain-http request was redirected to, if it was."""
    if exchange.status is None or not 300 <= exchange.status < 400:
        return None
    headers = {name.lower(): value for name, value in exchange.response_headers.items()}
    location = headers.get("location", "")
    return location if location.lower().startswith("https://") else None


def _forces_tls(exchanges: t.Sequence[Exchange]) -> Exchange | None:
    """The first exchange, when the app answered every request the harness
    made with a redirect to ``https://``: it forces TLS, and the harness serves
    plain http, so no flow reached a view."""
    if not exchanges or any(https_redirect(x) is None for x in exchanges):
        return None
    return exchanges[0]


def _not_over_http(exchange: Exchange, ids: t.Sequence[str]) -> dict[str, Result]:
    location = https_redirect(exchange)
    summary = (
        f"not judged: the app answered every request {exchange.status} to https:// "
        "(it forces TLS) and the harness serves plain http: turn the redirect off for "
        "the run with the app's own switch in posthog-verify.toml's [env] (the variable "
        'its redirect or Talisman(force_https=...) reads, e.g. INSECURE_REQUESTS = "1")'
    )
    item = evidence(exchange=exchange, status=exchange.status, value=location)
    return {check: result(check, Status.ERROR, summary, [item]) for check in ids}


def disabled_condition(run: Run, client: ClientConstruction) -> str | None:
    """The source of ``disabled=`` at the client's construction (``not token
    or os.environ.get("APP_ENV") != "production"``), when the source shows it."""
    if client.location is None:
        return None
    for site in run.static.constructions:
        same = site.location.file == client.location.file
        if same and abs(site.location.line - client.location.line) <= 1:
            return site.kwargs.get("disabled")
    return None


def disabled_verdicts(run: Run, ids: t.Sequence[str]) -> dict[str, Result]:
    """Every keyed client was built with ``disabled=True`` and nothing reached
    the mock: the checks that read what the app sent say so, naming the
    condition. A literal ``disabled=True`` is the integration's ``fail`` (it
    never sends); a condition (the app's own switch, ``APP_ENV``...) is
    ``error``: the app needs a setting the harness did not give it."""
    keyed = [c for c in run.clients if c.api_key]
    if not keyed or run.events or not all(_is_disabled(c) for c in keyed):
        return {}
    client = keyed[0]
    condition = disabled_condition(run, client)
    where = f" at {client.location}" if client.location else ""
    item = evidence(location=client.location, value=condition, note="disabled=True")
    if condition is None or condition.strip() == "True":
        summary = (
            f"the PostHog client was built with disabled=True{where}: it sends nothing, "
            "so no event reached the mock"
        )
        return {check: result(check, Status.FAIL, summary, [item]) for check in ids}
    summary = (
        f"not judged: the PostHog client was built with disabled=True{where} "
        f"(disabled={condition}), so it sent nothing under the harness's environment: "
        "give the app the setting that enables it in posthog-verify.toml's [env] "
        "(or the environment pytest runs in)"
    )
    return {check: result(check, Status.ERROR, summary, [item]) for check in ids}


def _is_disabled(client: ClientConstruction) -> bool:
    return client.kwargs.get("disabled") in (True, "True")


def _first_cause(broken: t.Sequence[Exchange]) -> Exchange:
    """The integration's failure first (it decides the verdict), else the first."""
    return next((x for x in broken if x.failure and x.failure.in_integration), broken[0])


def _cannot_serve(flows: t.Sequence[Exchange], ids: t.Sequence[str]) -> dict[str, Result]:
    exchange = _first_cause(flows)
    failure = exchange.failure
    assert failure is not None
    answer = _answer(exchange)
    verdicts = {}
    for check in ids:
        if failure.in_integration:
            summary = (
                f"the PostHog integration raised on every request ({answer}): {_cause(failure)}"
            )
            verdicts[check] = result(check, Status.FAIL, summary, [_quoted(exchange, failure)])
        else:
            summary = f"not judged: the app {_every(exchange)}: {_cause(failure)}{_hint(failure)}"
            verdicts[check] = result(check, Status.ERROR, summary, [_quoted(exchange, failure)])
    return verdicts


def _sdk_too_old(exchange: Exchange, ids: t.Sequence[str]) -> dict[str, Result]:
    """Rule 0: the app called an API its installed SDK predates. What it did
    after is not what it does on the SDK it was written for (a failed signup
    leaves a session, a failed hook skips the rest), so nothing that rests on
    the flows is judged, as nothing is when it imports a module the SDK lacks."""
    failure = exchange.failure
    assert failure is not None
    summary = f"not judged: {exchange.step} {_answer(exchange)}: {_cause(failure)}"
    return {
        check: result(check, Status.ERROR, summary, [_quoted(exchange, failure)]) for check in ids
    }


def _blamed(check: str, exchange: Exchange) -> Result:
    failure = exchange.failure
    assert failure is not None
    step = exchange.step
    if failure.in_integration:
        summary = f"{step} {_answer(exchange)} in PostHog integration code: {_cause(failure)}"
        return result(check, Status.FAIL, summary, [_quoted(exchange, failure)])
    summary = f"not judged: {step} {_answer(exchange)}: {_cause(failure)}{_hint(failure)}"
    return result(check, Status.ERROR, summary, [_quoted(exchange, failure)])


def _answer(exchange: Exchange) -> str:
    if exchange.status is not None:
        return f"answered {exchange.status}"
    return "did not answer"


def _every(exchange: Exchange) -> str:
    if exchange.status is not None:
        return f"answered {exchange.status} to every request"
    return "answered no request"


def _cause(failure: StepFailure) -> str:
    where = f" ({failure.location})" if failure.location else ""
    return f"{failure.cause}{where}"


def _hint(failure: StepFailure) -> str:
    """The environment's fix, when the cause says what it is."""
    cause = failure.cause.lower()
    if "no such table" in cause or ("relation" in cause and "does not exist" in cause):
        return ": the app needs set-up, see [setup]"
    if "request deadline" in cause:
        return ": raise the deadline with --posthog-timeout if the app is only slow"
    if "process died" in cause:
        return ": the app ended its own process"
    return ""


def _quoted(exchange: Exchange, failure: StepFailure) -> dict[str, t.Any]:
    return evidence(
        exchange=exchange,
        status=exchange.status,
        value=failure.cause,
        location=str(failure.location) if failure.location else None,
        note=failure.traceback_tail[-_TRACEBACK_CHARS:] or None,
        in_integration=failure.in_integration,
    )


# -- the baseline: the same app before the integration ------------------------


def with_baseline(run: Run, baseline: Run) -> Run:
    """``run`` with each failure judged against ``baseline`` (the same app
    before the integration, ``--posthog-baseline``): a failure the baseline
    shares (the same step failing with the same exception type, hang or crash)
    is the environment's; one it does not share, on a step the baseline served,
    is the integration's, whatever the traceback says. A step the baseline
    never made keeps the traceback's reading. A boot failure the baseline
    shares is not the app's own raising either.
    """
    shared = {
        (x.step, _kind(x.failure.cause)) for x in baseline.exchanges if failed(x) and x.failure
    }
    served = {x.step for x in baseline.exchanges if not failed(x)}
    exchanges = tuple(_against(x, shared, served) for x in run.exchanges)
    boot = run.boot_failure
    base_boot = baseline.boot_failure
    if boot is not None and base_boot is not None:
        boot = _boot_against(boot, base_boot)
    return dataclasses.replace(run, exchanges=exchanges, boot_failure=boot)


def _boot_against(boot: BootFailure, baseline: BootFailure) -> BootFailure:
    if not boot.app_raised or _kind(boot.cause) != _kind(baseline.cause):
        return boot
    cause = f"{boot.cause} (the baseline fails the same way)"
    return dataclasses.replace(boot, app_raised=False, cause=cause)


def _against(
    exchange: Exchange, shared: t.Collection[tuple[str, str]], served: t.Collection[str]
) -> Exchange:
    failure = exchange.failure
    if failure is None or not failed(exchange):
        return exchange
    if (exchange.step, _kind(failure.cause)) in shared:
        verdict, note = False, "the baseline fails the same way"
    elif exchange.step in served:
        verdict, note = True, "the baseline serves this step"
    else:
        return exchange
    judged = dataclasses.replace(failure, in_integration=verdict, cause=f"{failure.cause} ({note})")
    return dataclasses.replace(exchange, failure=judged)


def _kind(cause: str) -> str:
    """What kind of failure a cause is: its exception type, or its first words."""
    head = cause.split(":", 1)[0]
    return head if " " not in head else " ".join(head.split()[:4])
