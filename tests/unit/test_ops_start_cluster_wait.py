"""start_cluster while every node is still starting: crm_mon answers on no node yet.

Seen on the lab (method 1, 2 nodes, Pacemaker 2.1.5): 0.09 s after the starts, crm_mon
on a node printed status 0 "OK" with "Could not connect to the CIB" and no cluster
(fixture live/starting_cib_not_connected.xml), and on the other it failed with rc 102. That is
"not up yet", to be waited for, not a failed update. Scripted transport double on real
crm_mon output, as in test_ops_full_stop.py.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fake_transport import CRM_MON, make_ctx  # noqa: E402
from helpers.node_threads import ConcurrentScript  # noqa: E402
from helpers.ops_fixtures import PCS_PROBE  # noqa: E402
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.errors import VerificationError  # noqa: E402
from pacemaker_update.ops import base  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
NOT_CONNECTED = (FIXTURES / "live" / "starting_cib_not_connected.xml").read_text()

pytestmark = pytest.mark.usefixtures("ops_clock")


@pytest.fixture
def ops_script():
    """start_cluster starts each node in a thread of its own: their calls may interleave."""
    s = ConcurrentScript()
    yield s
    s.assert_done()


def starts_then_nobody_answers(ops_script):
    for node in ("server1", "server2"):
        ops_script.expect(node, ["systemctl", "start", "corosync"])
        ops_script.expect(node, ["systemctl", "start", "pacemaker"])
    for argv, out in PCS_PROBE:
        ops_script.expect("server1", argv, stdout=out)
    ops_script.expect("server1", CRM_MON, stdout=NOT_CONNECTED)  # status OK, no CIB yet
    ops_script.expect("server2", CRM_MON, rc=102, stderr="Connection refused")


def test_start_cluster_waits_while_no_node_answers_yet(ops_script, ops_clock):
    starts_then_nobody_answers(ops_script)
    ops_script.expect_status("server1", "two_node_normal")  # next poll: both online
    ops_script.expect_status("server1", "two_node_normal")  # server1's own view
    ops_script.expect_status("server2", "two_node_normal")  # server2's own view
    ctx = make_ctx(ops_script)
    data = ops.start_cluster(ctx, ["server1", "server2"])
    assert data["nodes"] == ["server1", "server2"]
    assert ops_clock.sleeps == [base.POLL_INTERVAL]  # waited once, did not fail
    assert any("cannot read crm_mon on server1 (CRM_MON_FAILED)" in w for w in ctx.warnings)


def test_start_cluster_fails_with_a_clear_error_when_nobody_ever_answers(ops_script):
    starts_then_nobody_answers(ops_script)
    for _ in range(int(1.0 / base.POLL_INTERVAL)):
        ops_script.expect("server1", CRM_MON, stdout=NOT_CONNECTED)
        ops_script.expect("server2", CRM_MON, rc=102, stderr="Connection refused")
    with pytest.raises(VerificationError) as err:
        ops.start_cluster(make_ctx(ops_script), ["server1", "server2"], timeout=1)
    assert "no started node answers crm_mon" in err.value.message
    assert err.value.details["nodes"] == ["server1", "server2"]
