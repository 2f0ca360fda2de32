"""The Run record: everything one boot-and-drive of an app observed.

A Run is the only thing checks read (see :mod:`harness.checks`). It is built by
:mod:`harness.subject` (boot, instrument, stop) and :mod:`harness.scenario`
(drive), and it is plain data: frozen dataclasses of strings, numbers, dicts
and tuples, so a check can be unit-tested by constructing one by hand::

    run = Run(app=AppRef(name="demo", root="/tmp/demo"), token="phc_test_x", ...)
    result = no_pii_in_events(run)

Naming: an *exchange* is a request the harness made to the app; a *captured
request* is a request the app (its SDK) made to the mock.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from harness.capture.records import CapturedEvent
from harness.capture.records import CapturedRequest
from harness.subject.runtime import CLIENT_ADDRESS

#: The step name of the login the driver performs when a signup leaves the new
#: user logged out (kind ``login``); identify_on_signup looks past it.
LOGIN_AFTER_SIGNUP = "login_after_signup"


class Phase(enum.StrEnum):
    """Where in an app's life something happened (or failed)."""

    DISCOVER = "discover"  # finding the app in its folder, reading the manifest
    IMPORT = "import"  # importing the app's module
    BOOT = "boot"  # calling the factory, binding the server, first request
    REQUEST = "request"  # driving the scenario
    STOP = "stop"  # the production stop signal and the process exit


@dataclasses.dataclass(frozen=True)
class SourceLocation:
    """A place in the app's source. ``file`` is relative to the app root."""

    file: str
    line: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclasses.dataclass(frozen=True)
class AppRef:
    """Which app this is and how it was found.

    :param name: the id used in pytest item ids and reports (folder name,
        made unique in a multi-app run).
    :param target: ``"module:attribute"`` that produced the Flask app, e.g.
        ``"app:create_app"`` (a factory) or ``"wsgi:app"`` (an instance).
    :param found_by: how discovery found it (``"manifest"``, ``"FLASK_APP"``,
        ``".flaskenv"``, ``"convention: app.py create_app"``...).
    """

    name: str
    root: str
    target: str = ""
    found_by: str = ""


@dataclasses.dataclass(frozen=True)
class Canaries:
    """Values unique to one run, submitted as a user would; they must never
    appear in event properties (person properties are where they belong).

    ``ip`` is sent as ``X-Forwarded-For``; ``client_address`` is the address the
    app sees the request come from. ``probe`` tags the exception the harness's
    probe route raises, so its ``$exception`` event can be found. ``first_name``,
    ``last_name`` and ``username`` are what the scenario types into split name
    and username fields; ``typed`` holds the manifest's own literal field values
    distinctive enough to search for (:func:`harness.scenario.canary.typed_values`).
    """

    email: str
    name: str
    phone: str
    address: str
    text: str
    ip: str
    password: str
    probe: str
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    client_address: str = CLIENT_ADDRESS
    typed: tuple[str, ...] = ()
    #: The run id every generated canary embeds: a fragment of one that holds
    #: it is personal data too (:func:`harness.checks._detect.fragment_needles`).
    run_id: str = ""

    def pii(self) -> dict[str, str]:
        """Every value the scenario typed or sent as the user's, by kind
        (password included); empty ones left out."""
        values = {
            "email": self.email,
            "name": self.name,
            "first name": self.first_name,
            "last name": self.last_name,
            "username": self.username,
            "phone": self.phone,
            "address": self.address,
            "text": self.text,
            "ip": self.ip,
            "client address": self.client_address,
            "password": self.password,
        }
        if self.username and self.username.lower() == self.last_name.lower():
            # The username is the last name in lower case: one canary, both names.
            values["last name (the username)"] = values.pop("last name")
            del values["username"]
        values |= {f"typed value {i + 1}": value for i, value in enumerate(self.typed)}
        return {kind: value for kind, value in values.items() if value}


@dataclasses.dataclass(frozen=True)
class FormDigest:
    """A form as a user meets it: where it posts and the names it submits."""

    method: str
    action: str
    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class AnswerDigest:
    """What an answer was, in comparable form.

    :param location: the ``Location`` header, as sent.
    :param media_type: the ``Content-Type`` without parameters.
    :param forms: the page's forms (HTML only).
    :param text: the visible text (HTML) or the body (anything else), whitespace
        collapsed, at most :data:`harness.scenario.digest.TEXT_CHARS` characters.
    """

    location: str | None
    media_type: str
    forms: tuple[FormDigest, ...] = ()
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Exchange:
    """One HTTP request the harness made to the app, and the app's answer.

    :param step: the scenario step's name (``"signup"``, ``"anon_browse"``...).
    :param kind: what the step is for, one of ``browse``, ``signup``, ``login``,
        ``logout``, ``api``, ``error`` (the app's own error route), ``probe``
        (the harness's raising route), ``other``. Form GETs that precede a
        submit share the submit's kind.
    :param distinct_id_header: the ``X-POSTHOG-DISTINCT-ID`` sent, if any.
    :param session_id_header: the ``X-POSTHOG-SESSION-ID`` sent, if any.
    :param user: ``"anonymous"`` or ``"user"``: whether the harness believed a
        user was logged in when it sent this request.
    :param error: set when no answer came (timeout, connection reset).
    :param redirect_of: the exchange whose redirect the driver followed to
        make this one (None for a request the scenario made itself).
    :param expected: what the step expected of the answer (``"2xx|3xx"``).
    :param decisions: what the driver decided, in order (the form it found and
        where, the redirect it followed, a retry as the user, a login after
        signup), each one short sentence.
    :param failure: why the app could not serve this request, when it could not.
    :param digest: the answer in comparable form (redirect target, forms, visible
        text), for ``behaviour_preserved``; None when no answer came.
    """

    index: int
    step: str
    kind: str
    method: str
    path: str
    request_headers: dict[str, str]
    status: int | None
    response_headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body_excerpt: str = ""
    form: dict[str, str] | None = None
    json: t.Any = None
    duration_s: float = 0.0
    distinct_id_header: str | None = None
    session_id_header: str | None = None
    user: str = "anonymous"
    error: str | None = None
    redirect_of: int | None = None
    expected: str = ""
    decisions: tuple[str, ...] = ()
    failure: StepFailure | None = None
    digest: AnswerDigest | None = None


@dataclasses.dataclass(frozen=True)
class StepFailure:
    """Why the app could not serve one exchange: an exception its code raised
    (a 5xx with a traceback from the child), a hang past the request deadline,
    or the process dying while it served the request.

    :param cause: one line, e.g. ``"sqlite3.OperationalError: no such table: user"``
        or ``"no answer within 5.0 s"`` or ``"the process died (signal SIGSEGV)"``.
    :param location: the innermost frame of the app's own code, relative to the
        app root, when a traceback was seen.
    :param traceback_tail: the last lines of the traceback, for evidence.
    :param in_integration: the traceback runs through the posthog package or
        through app code that calls it: the integration's own failure.
    :param sdk_too_old: the app called an API its installed SDK predates
        (:data:`harness.subject.runtime.SDK_API_SINCE`): the environment lacks
        what the app needs, so the run is not the app as written.
    """

    cause: str
    location: SourceLocation | None = None
    traceback_tail: str = ""
    in_integration: bool = False
    sdk_too_old: bool = False


@dataclasses.dataclass(frozen=True)
class ClientConstruction:
    """A PostHog client the app built (``Posthog(...)``/``Client(...)``, or the
    module-level default client the SDK builds lazily on first module call).

    :param client_id: assigned by the instrumentation, 0, 1, 2... in order.
    :param kwargs: the constructor arguments as ``repr``-safe values.
    :param via: ``"instance"`` or ``"module_default"``.
    :param phase: ``"boot"`` (before the server served its first request) or
        ``"request"``; ``step`` is the exchange index during which it was built.
    """

    client_id: int
    api_key: str | None
    host: str | None
    kwargs: dict[str, t.Any]
    via: str
    phase: str
    step: int | None
    location: SourceLocation | None = None
    #: The process that built it (a preloaded gunicorn app: the arbiter).
    pid: int | None = None


@dataclasses.dataclass(frozen=True)
class AtexitRegistration:
    """A callable the app registered with :func:`atexit.register`.

    :param qualname: e.g. ``"Client.shutdown"``, ``"Client.flush"``,
        ``"close_db"``.
    :param client_id: set when the callable is a bound method of a PostHog
        client (or the module's ``posthog.shutdown``/``posthog.flush``: then
        the default client's id, or None if it does not exist yet).
    :param observed: the record of a run, not of a registration: the app's own
        callable (``qualname`` ``"Outbox.close -> Client.shutdown"``) was seen,
        at exit, reaching that client's shutdown/flush; ``phase`` is ``"exit"``
        and ``location`` where the callable was registered.
    """

    qualname: str
    is_posthog: bool
    client_id: int | None
    phase: str
    location: SourceLocation | None = None
    observed: bool = False


@dataclasses.dataclass(frozen=True)
class CaptureCall:
    """One public SDK call the app made: ``capture``, ``capture_exception``,
    ``set``, ``set_once``, ``alias``, ``group_identify``, ``identify_context``,
    ``set_context_session``, ``tag``...

    :param via: ``"instance"`` (a method on a client object) or ``"module"``
        (``posthog.capture(...)``, which goes to the default client).
    :param client_id: the client the call went to, None when the module-level
        call had no configured default client.
    :param uuid: the uuid the SDK returned for the message, None when it
        returned nothing (dropped, disabled, or not an event-producing call).
    :param args: the call's arguments, ``repr``-safe, for evidence.
    :param raised: the exception the call raised (``"TypeError: ..."``), if any.
    """

    method: str
    via: str
    client_id: int | None
    phase: str
    step: int | None
    event: str | None = None
    distinct_id: str | None = None
    uuid: str | None = None
    args: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    location: SourceLocation | None = None
    raised: str | None = None


@dataclasses.dataclass(frozen=True)
class EnqueuedMessage:
    """A message the SDK put on its send queue: what a call really became,
    after contexts and super properties were applied."""

    client_id: int
    uuid: str
    event: str
    distinct_id: str
    step: int | None
    properties: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The process that enqueued it (a gunicorn worker's pid).
    pid: int | None = None


@dataclasses.dataclass(frozen=True)
class ProcessOutcome:
    """How the app's child process lived and stopped."""

    pid: int | None
    exit_code: int | None
    stop_signal: str | None
    stop_duration_s: float | None
    stdout_tail: str = ""
    stderr_tail: str = ""
    server: str = "werkzeug"


@dataclasses.dataclass(frozen=True)
class BootFailure:
    """Why an app could not be booted or driven to the end.

    :param app_raised: True when the app's own code raised (an exception from
        its module import or its factory): that is a verdict on the app
        (``boots`` fails). False when the harness could not find, boot or
        finish it (nothing found, a hang past a deadline, a crash with no
        Python exception, a harness fault): that is ``error``.
    :param detail: the traceback or the last lines of the app's stderr.
    """

    phase: Phase
    cause: str
    app_raised: bool = False
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class NoEnvBoot:
    """The second, short boot with every PostHog variable unset."""

    served: bool
    status: int | None
    unset: tuple[str, ...]
    failure: BootFailure | None = None


@dataclasses.dataclass(frozen=True)
class PosthogConstructionSite:
    """A ``Posthog(...)``/``Client(...)`` call found in the source.

    :param kwargs: keyword arguments as source text (``{"host": "os.environ['X']"}``).
    :param autocapture: the literal value of ``enable_exception_autocapture``,
        None when absent, ``"dynamic"`` when not a literal.
    """

    location: SourceLocation
    kwargs: dict[str, str]
    autocapture: bool | str | None


@dataclasses.dataclass(frozen=True)
class StaticFacts:
    """What the app's source says, read with :mod:`ast` (never executed).

    :param env_names: environment variables the PostHog setup reads.
    :param config_keys: Flask config keys fed from them.
    :param literal_keys: places a ``phc_``-style literal key appears; ``text``
        is redacted to the first characters.
    :param hardcoded_hosts: places a literal PostHog host URL is passed to the
        SDK.
    :param atexit_sites: ``atexit.register(...)`` calls whose argument looks
        like a PostHog shutdown/flush.
    :param module_calls: module-level ``posthog.capture(...)``-style calls.
    :param env_prefixes: prefixes of ``app.config.from_prefixed_env(prefix)``
        calls (``"FLASK"`` by default): the app also reads ``<prefix>_<KEY>``
        for each config key.
    :param host_sources: the env names and config keys seen to reach the
        SDK's ``host``, whatever they are called (``PH_INSTANCE_ADDRESS``).
    :param key_sources: the same for its project key.
    :param files_scanned: how many ``.py`` files were read.
    """

    env_names: tuple[str, ...] = ()
    config_keys: tuple[str, ...] = ()
    literal_keys: tuple[SourceLocation, ...] = ()
    hardcoded_hosts: tuple[SourceLocation, ...] = ()
    constructions: tuple[PosthogConstructionSite, ...] = ()
    atexit_sites: tuple[SourceLocation, ...] = ()
    module_calls: tuple[SourceLocation, ...] = ()
    env_prefixes: tuple[str, ...] = ()
    host_sources: tuple[str, ...] = ()
    key_sources: tuple[str, ...] = ()
    files_scanned: int = 0
    parse_errors: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SetupCommand:
    """A set-up command run in the workspace before the app booted.

    :param reason: why it ran (``"manifest [setup]"``, ``"migrations/ found:
        Flask-Migrate"``, ``"the app registers the CLI command init-db"``).
    :param exit_code: None when it was killed at its deadline.
    """

    command: tuple[str, ...]
    reason: str
    exit_code: int | None
    duration_s: float
    output_tail: str = ""


@dataclasses.dataclass(frozen=True)
class ConnectionAttempt:
    """A connection the app (or anything it started) tried to open.

    :param outcome: ``"mock"`` (answered by the harness's mock), ``"refused"``
        (refused by the in-process guard) or ``"unreachable"`` (no route: the
        kernel's isolation). For ``protocol`` ``"process"`` (a process the
        app started; ``host`` is its command line): ``"contained"`` (it runs
        in the app's namespaces) or ``"unseen"`` (the guard alone cannot see
        or stop its traffic).
    :param protocol: ``"tcp"``, ``"udp"``, ``"dns"``, ``"http"``/``"https"``
        (seen by the ``requests``/``httpx`` guard), ``"process"``.
    :param via: what saw it: ``"requests"``/``"httpx"``/``"socket"`` (the
        guard's patches) or ``"audit"`` (its audit hook).
    :param boot: ``"main"``, or ``"no_env"`` for the boot without PostHog variables.
    """

    host: str
    port: int | None
    protocol: str
    outcome: str
    step: int | None = None
    via: str = "guard"
    boot: str = "main"


@dataclasses.dataclass(frozen=True)
class SuiteOutcome:
    """The app's own test suite (pytest), run in a fresh copy of the app.

    :param tests: test id -> ``passed``, ``failed``, ``error`` or ``skipped``
        (from pytest's junit XML).
    :param messages: test id -> the first line of its failure, for a test that
        did not pass.
    :param note: why the suite says nothing, when it does not (no tests found,
        pytest not importable by the app's interpreter, the deadline).
    :param exit_code: pytest's exit code; None when it was killed at its deadline.
    """

    command: tuple[str, ...]
    exit_code: int | None
    tests: dict[str, str] = dataclasses.field(default_factory=dict)
    messages: dict[str, str] = dataclasses.field(default_factory=dict)
    note: str = ""
    output_tail: str = ""
    duration_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What the baseline's run (the app before the integration, driven the same
    way) showed, for ``behaviour_preserved`` to compare with: its own canaries
    and headers, so run-unique values normalise by kind."""

    root: str
    exchanges: tuple[Exchange, ...] = ()
    canaries: Canaries | None = None
    distinct_id_header: str = ""
    session_id_header: str = ""
    token: str = ""
    boot_failure: BootFailure | None = None
    steps_skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    harness_errors: tuple[str, ...] = ()
    suite: SuiteOutcome | None = None

    @classmethod
    def of(cls, run: Run) -> Baseline:
        """What ``run`` (the baseline's) gives the comparison."""
        return cls(
            root=run.app.root,
            exchanges=run.exchanges,
            canaries=run.canaries,
            distinct_id_header=run.distinct_id_header,
            session_id_header=run.session_id_header,
            token=run.token,
            boot_failure=run.boot_failure,
            steps_skipped=dict(run.steps_skipped),
            harness_errors=run.harness_errors,
            suite=run.suite,
        )


@dataclasses.dataclass(frozen=True)
class ClaimedEvent:
    """An event the integration's setup report says it added.

    :param location: where the report names it (``posthog-setup-report.md:14``),
        ``text`` the line itself.
    :param where: what the report says about where it is sent (a file, a
        route, a flow), "" when it says nothing.
    :param routes: the routes (``/signup``) named on that line.
    """

    name: str
    location: SourceLocation
    where: str = ""
    routes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SetupReport:
    """What the app's setup report(s) claim, read statically
    (:mod:`harness.static.claims`).

    :param files: the report files read, relative to the app root.
    :param notes: what could not be read, one sentence each (junk JSON, a
        table without an event column...).
    """

    files: tuple[str, ...]
    events: tuple[ClaimedEvent, ...] = ()
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PlannedProperty:
    """One property of a planned event: a small subset of JSON Schema.

    :param types: the allowed JSON types (``"string"``, ``"integer"``...).
    :param enum: the allowed values, None for any.
    """

    types: tuple[str, ...] = ()
    enum: tuple[t.Any, ...] | None = None


@dataclasses.dataclass(frozen=True)
class PlannedEvent:
    """One ``[[events]]`` entry of the manifest's tracking plan.

    :param step: the scenario step (``"signup"``) or step kind that must send it.
    """

    name: str
    step: str
    properties: dict[str, PlannedProperty] = dataclasses.field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Run:
    """Everything one boot-and-drive of one app observed.

    :param mode: ``"server"`` (a child process driven over HTTP, stopped with
        its production signal) or ``"in_process"`` (Flask's test client).
    :param token: the api key injected into every env name the app reads.
    :param mock_host: the host URL injected (the loopback mock).
    :param distinct_id_header: the anonymous ``X-POSTHOG-DISTINCT-ID`` value
        the scenario sends; ``session_id_header`` likewise.
    :param stop_fault_armed: the mock was told to answer 500 to the first
        capture batch that arrives after the stop signal.
    :param boot_failure: set when the app could not be booted or driven; the
        observations then cover only what happened before.
    :param skip: check id -> reason, from the app's manifest.
    :param steps_skipped: scenario step -> why the driver left it out (e.g.
        ``{"signup": "the app has no signup route"}``), so a check that needs
        the step can say why it is skipped.
    :param steps_incomplete: scenario step -> why it ran but did not do what
        it is for (no fitting form, the submission shown again): the harness
        could not drive that flow, so checks that need it report ``error``.
    :param probe_entered: the exchanges during which the probe's view ran
        (None when not recorded): a probe answered without it was stopped by
        the app's own guard before raising anything.
    :param propagated: exchange index -> why Flask re-raised that request's
        exception instead of running the app's error handlers
        (``"app.debug is True (DEBUG)"``, ``PROPAGATE_EXCEPTIONS``).
    :param workspace: the fresh copy of the app that ran; tracebacks name
        files there, shown relative to it.
    :param harness_errors: faults of the harness itself during this run (the
        mock's thread raised, a deadline of the harness's own): checks report
        ``error`` when these touch what they read.
    :param isolation: the isolation in force for the app's processes, e.g.
        ``"network+pid namespaces"`` or ``"in-process guard only"``.
    :param connections: every connection the app tried, and what answered.
    :param setup: the set-up commands run before the boot, in order.
    :param versions: package versions the app ran with (python, flask, posthog...).
    :param setup_report: the app's setup report, None when it has none.
    :param tracking_plan: the manifest's ``[[events]]``.
    """

    app: AppRef
    mode: str = "server"
    token: str = ""
    mock_host: str = ""
    injected_env: tuple[str, ...] = ()
    canaries: Canaries | None = None
    distinct_id_header: str = ""
    session_id_header: str = ""
    exchanges: tuple[Exchange, ...] = ()
    requests: tuple[CapturedRequest, ...] = ()
    events: tuple[CapturedEvent, ...] = ()
    clients: tuple[ClientConstruction, ...] = ()
    atexit: tuple[AtexitRegistration, ...] = ()
    capture_calls: tuple[CaptureCall, ...] = ()
    enqueued: tuple[EnqueuedMessage, ...] = ()
    process: ProcessOutcome | None = None
    boot_failure: BootFailure | None = None
    no_env_boot: NoEnvBoot | None = None
    static: StaticFacts = dataclasses.field(default_factory=StaticFacts)
    stop_fault_armed: bool = False
    skip: dict[str, str] = dataclasses.field(default_factory=dict)
    steps_skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    steps_incomplete: dict[str, str] = dataclasses.field(default_factory=dict)
    probe_entered: tuple[int, ...] | None = None
    propagated: dict[int, str] = dataclasses.field(default_factory=dict)
    workspace: str = ""
    harness_errors: tuple[str, ...] = ()
    duration_s: float = 0.0
    isolation: str = ""
    connections: tuple[ConnectionAttempt, ...] = ()
    setup: tuple[SetupCommand, ...] = ()
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    #: How the app was served and what that was read from (``--posthog-server auto``).
    serving: str = ""
    #: The baseline's run, when one was given (``--posthog-baseline``, manifest ``baseline``).
    baseline: Baseline | None = None
    #: The app's own test suite, run only when there is a baseline to compare with.
    suite: SuiteOutcome | None = None
    setup_report: SetupReport | None = None
    tracking_plan: tuple[PlannedEvent, ...] = ()
