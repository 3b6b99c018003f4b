"""Shared pytest fixtures of the ops unit tests (scripted transport, fake clock).

tests/unit/conftest.py registers them: a module uses ``ops_clock`` (every op sleeps on the
FakeClock; ``pytestmark = pytest.mark.usefixtures("ops_clock")`` for all its tests) and
``ops_script`` (fails the test at teardown when a scripted call was never made).
"""

import sys
from typing import Iterator

import pytest
from pacemaker_update import ops
from pacemaker_update.ops import base

from helpers.fake_transport import CommandScript, FakeClock

PCS_PROBE = [(["pcs", "--version"], "0.11.5\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]
CRM_PROBE = [(["crm", "--version"], "crm 4.4.0\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]
SIMULATE = ["crm_simulate", "--live-check", "--simulate", "--output-as=xml"]
CLOCKED = ("services", "settle", "guard")  # ops modules that read CLOCK besides base


@pytest.fixture
def ops_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """A FakeClock in every ops module; the frontend/version probe cache cleared around."""
    fake = FakeClock()
    monkeypatch.setattr(base, "CLOCK", fake)
    for mod in CLOCKED:
        monkeypatch.setattr(sys.modules[f"pacemaker_update.ops.{mod}"], "CLOCK", fake)
    ops.forget_probes()
    yield fake
    ops.forget_probes()


@pytest.fixture
def ops_script() -> Iterator[CommandScript]:
    """A CommandScript that must be used up by the end of the test."""
    s = CommandScript()
    yield s
    s.assert_done()


def probe(script: CommandScript, host: str = "server1", frontend: str = "pcs") -> CommandScript:
    """Script the front end's version probe on ``host`` (done once per process)."""
    for argv, out in (PCS_PROBE if frontend == "pcs" else CRM_PROBE):
        script.expect(host, argv, stdout=out)
    return script
