"""The scenario layer: drive an app like a user and record every exchange.

One concern a module:

- :mod:`~harness.scenario.canary`: run-unique PII canaries and the anonymous identity;
- :mod:`~harness.scenario.forms`: forms in the app's HTML, filled with canaries;
- :mod:`~harness.scenario.load`: ``scenarios/*.toml`` into :class:`Scenario`;
- :mod:`~harness.scenario.plan`: steps placed on the app's routes (and manifest);
- :mod:`~harness.scenario.transport`: HTTP or Flask test client, cookies kept;
- :mod:`~harness.scenario.drive`: the driver, producing :class:`harness.run.Exchange`.

Use::

    run_id = new_run_id()
    canaries, identity = make_canaries(run_id), make_identity(run_id)
    steps = plan(load_scenario(), routes, manifest)
    result = drive(HttpTransport(url), steps, canaries, identity,
                   identified_as=lambda index: None, timeout_s=10.0)
"""

from __future__ import annotations

from harness.scenario.canary import Identity as Identity
from harness.scenario.canary import make_canaries as make_canaries
from harness.scenario.canary import make_identity as make_identity
from harness.scenario.canary import new_run_id as new_run_id
from harness.scenario.drive import DriveResult as DriveResult
from harness.scenario.drive import drive as drive
from harness.scenario.forms import Form as Form
from harness.scenario.forms import fill as fill
from harness.scenario.forms import find_forms as find_forms
from harness.scenario.load import Scenario as Scenario
from harness.scenario.load import ScenarioError as ScenarioError
from harness.scenario.load import load_scenario as load_scenario
from harness.scenario.plan import Plan as Plan
from harness.scenario.plan import PlannedStep as PlannedStep
from harness.scenario.plan import Route as Route
from harness.scenario.plan import plan as plan
from harness.scenario.plan import routes_from_app as routes_from_app
from harness.scenario.transport import FlaskClientTransport as FlaskClientTransport
from harness.scenario.transport import HttpTransport as HttpTransport
from harness.scenario.transport import Transport as Transport
from harness.scenario.transport import TransportResponse as TransportResponse
