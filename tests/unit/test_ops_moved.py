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

from helpers.fake_transport import make_ctx  # noqa: E402
from helpers.ops_fixtures import SIMULATE, probe  # noqa: E402
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.errors import VerificationError  # noqa: E402

IDLE = (Path(__file__).resolve().parents[1] / "fixtures" / "crm_simulate"
        / "idle.xml").read_text()

pytestmark = pytest.mark.usefixtures("ops_clock")


def test_standby_of_the_primary_names_what_it_moves_away(ops_script):
    probe(ops_script).expect_status("server1", "two_node_normal")
    ops_script.expect("server1", ["pcs", "node", "standby", "server1"])
    ops_script.expect_status("server1", "two_node_standby")
    data = ops.set_node_standby(make_ctx(ops_script), "server1", True)
    assert data["moved_away"] == ["app", "vip"]  # grp's members; ping, a clone, just stops there


def test_settled_with_the_moved_resources_elsewhere_passes(ops_script):
    probe(ops_script).expect_status("server1", "two_node_standby")
    ops_script.expect("server1", SIMULATE, stdout=IDLE)
    ops_script.expect_status("server1", "two_node_standby")
    data = ops.wait_until_settled(make_ctx(ops_script), 300, expect_online=[],
                                  away_from="server1", moved=["app", "vip"])
    assert data["settled"] is True and data["rounds"] == 1


def test_settled_but_not_moved_fails_at_once_with_where_it_runs(ops_script, ops_clock):
    # app and vip still on server1, nothing pending: settled, yet the failover did not happen
    probe(ops_script).expect_status("server1", "two_node_normal")
    ops_script.expect("server1", SIMULATE, stdout=IDLE)
    ops_script.expect_status("server1", "two_node_normal")
    with pytest.raises(VerificationError) as err:
        ops.wait_until_settled(make_ctx(ops_script), 300, away_from="server1", moved=["app", "vip"])
    assert err.value.code == "RESOURCES_NOT_MOVED"
    assert err.value.details["missing"] == ["app runs on server1", "vip runs on server1"]
    assert "rollback" in err.value.hint
    assert ops_clock.sleeps == []  # no waiting for the 300 s timeout


def test_without_away_from_nothing_more_is_required(ops_script):
    probe(ops_script).expect_status("server1", "two_node_normal")
    ops_script.expect("server1", SIMULATE, stdout=IDLE)
    ops_script.expect_status("server1", "two_node_normal")
    assert ops.wait_until_settled(make_ctx(ops_script), 300)["settled"] is True


def test_a_dry_run_standby_moves_nothing_so_nothing_is_expected_elsewhere(ops_script):
    probe(ops_script).expect_status("server1", "two_node_normal")
    data = ops.set_node_standby(make_ctx(ops_script, dry_run=True), "server1", True)
    assert data["moved_away"] == [] and data["planned"]


def test_the_node_read_from_crashing_mid_check_moves_the_wait_to_another_node(ops_script):
    # crm_mon read on server1, then server1 crashed before crm_simulate could run there
    # (CI, the primary-crash fault): the wait goes on from server2 instead of failing with
    # SSH_CONNECT_FAILED while the cluster itself still answers
    from pacemaker_update.errors import ConnectError
    probe(ops_script).expect_status("server1", "two_node_normal")
    ops_script.expect("server1", SIMULATE, raises=ConnectError("server1: connection refused"))
    ops_script.expect_status("server2", "two_node_normal", times=2)  # the fallback, next look
    ops_script.expect("server2", SIMULATE, stdout=IDLE)
    ops_script.expect_status("server2", "two_node_normal")
    data = ops.wait_until_settled(make_ctx(ops_script), 300)
    assert data["settled"] is True and data["read_from"] == "server2" and data["rounds"] == 2
