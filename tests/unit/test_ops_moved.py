"""Method 4's "verify its resources moved": set_node_standby says what ran on the node
(moved_away), and wait_until_settled(away_from, moved) requires it active on another node.

A settled cluster is not enough: a resource with no explicit target-role that failed to
start elsewhere stays Stopped and the cluster is settled all the same. Once settled with
nothing pending, a missing resource fails at once (RESOURCES_NOT_MOVED) instead of waiting
for the timeout. Scripted transport double on real crm_mon and crm_simulate output.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fake_transport import CommandScript, FakeClock, make_ctx  # noqa: E402
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.errors import VerificationError  # noqa: E402
from pacemaker_update.ops import base  # noqa: E402

PCS_PROBE = [(["pcs", "--version"], "0.11.5\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]
SIMULATE = ["crm_simulate", "--live-check", "--simulate", "--output-as=xml"]
IDLE = (Path(__file__).resolve().parents[1] / "fixtures" / "crm_simulate"
        / "idle.xml").read_text()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(base, "CLOCK", fake)
    for mod in ("services", "settle", "guard"):
        monkeypatch.setattr(sys.modules[f"pacemaker_update.ops.{mod}"], "CLOCK", fake)
    ops.forget_probes()
    yield fake
    ops.forget_probes()


@pytest.fixture
def script():
    s = CommandScript()
    yield s
    s.assert_done()


def probe(script):
    for argv, out in PCS_PROBE:
        script.expect("server1", argv, stdout=out)
    return script


def test_standby_of_the_primary_names_what_it_moves_away(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", ["pcs", "node", "standby", "server1"])
    script.expect_status("server1", "two_node_standby")
    data = ops.set_node_standby(make_ctx(script), "server1", True)
    assert data["moved_away"] == ["app", "vip"]  # grp's members; ping, a clone, just stops there


def test_settled_with_the_moved_resources_elsewhere_passes(script):
    probe(script).expect_status("server1", "two_node_standby")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_standby")
    data = ops.wait_until_settled(make_ctx(script), 300, expect_online=[],
                                  away_from="server1", moved=["app", "vip"])
    assert data["settled"] is True and data["rounds"] == 1


def test_settled_but_not_moved_fails_at_once_with_where_it_runs(script, clock):
    # app and vip still on server1, nothing pending: settled, yet the failover did not happen
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_normal")
    with pytest.raises(VerificationError) as err:
        ops.wait_until_settled(make_ctx(script), 300, away_from="server1", moved=["app", "vip"])
    assert err.value.code == "RESOURCES_NOT_MOVED"
    assert err.value.details["missing"] == ["app runs on server1", "vip runs on server1"]
    assert "rollback" in err.value.hint
    assert clock.sleeps == []  # no waiting for the 300 s timeout


def test_without_away_from_nothing_more_is_required(script):
    probe(script).expect_status("server1", "two_node_normal")
    script.expect("server1", SIMULATE, stdout=IDLE)
    script.expect_status("server1", "two_node_normal")
    assert ops.wait_until_settled(make_ctx(script), 300)["settled"] is True
