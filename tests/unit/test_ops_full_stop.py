"""The deliberate whole-cluster stop of method 1 (stop_pacemaker whole_cluster=true).

It lifts only the keep-quorum / keep-the-service refusal: the node is still verified
stopped, and the flag itself is checked before any command runs. Scripted transport double
on real crm_mon fixtures, as in test_ops.py.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fake_transport import CRM_MON, FakeClock, make_ctx  # noqa: E402
from helpers.node_threads import ConcurrentScript  # noqa: E402
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.errors import (  # noqa: E402
    CommandFailedError,
    InvalidInputError,
    VerificationError,
)
from pacemaker_update.ops import base  # noqa: E402

PCS_PROBE = [(["pcs", "--version"], "0.11.5\n"),
             (["crm_mon", "--version"], "Pacemaker 2.1.5\nWritten by Andrew Beekhof\n")]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(base, "CLOCK", fake)
    monkeypatch.setattr(sys.modules["pacemaker_update.ops.services"], "CLOCK", fake)
    ops.forget_probes()
    yield fake
    ops.forget_probes()


@pytest.fixture
def script():
    s = ConcurrentScript()  # start_cluster starts each node in a thread of its own
    yield s
    s.assert_done()


def last_node_view(script):
    """server1 already stopped (its crm_mon refuses), server2's view: server1 offline."""
    for argv, out in PCS_PROBE:
        script.expect("server1", argv, stdout=out)
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused")
    script.expect_status("server2", "two_node_stopped_node")


def test_whole_cluster_stop_still_fails_when_the_node_does_not_stop(script):
    """No quorum refusal, but a pacemaker that stays active is a failure, not a success."""
    last_node_view(script)
    script.expect("server2", ["systemctl", "stop", "pacemaker"])
    # wait_timeout 1 s, polled every POLL_INTERVAL s: pacemaker still active each time
    for _ in range(int(1.0 / base.POLL_INTERVAL) + 1):
        script.expect("server2", ["systemctl", "is-active", "pacemaker"], stdout="active\n")
    with pytest.raises(VerificationError) as err:
        ops.stop_pacemaker(make_ctx(script), "server2", stop_corosync=False, timeout=1,
                           whole_cluster=True)
    assert "pacemaker on server2 is not stopped" in err.value.message
    assert err.value.details["expected_active"] is False


def test_whole_cluster_dry_run_plans_the_last_stop_instead_of_refusing_it(script):
    last_node_view(script)
    ctx = make_ctx(script, dry_run=True)
    data = ops.stop_pacemaker(ctx, "server2", whole_cluster=True)
    assert [p["argv"] for p in data["planned"]] == [["systemctl", "stop", "pacemaker"],
                                                   ["systemctl", "stop", "corosync"]]


def test_whole_cluster_must_be_a_boolean_before_anything_runs(script):
    with pytest.raises(InvalidInputError, match="whole_cluster must be true or false"):
        ops.stop_pacemaker(make_ctx(script), "server2", whole_cluster="yes")


def test_whole_cluster_stop_rerun_when_no_node_answers_crm_mon_is_verified_by_systemctl(script):
    """A runner killed after the last node stopped re-runs that stop on resume: no node
    answers crm_mon any more, so the stop is done and verified on the node itself."""
    for argv, out in PCS_PROBE:  # the dialect is probed on the first node asked
        script.expect("server2", argv, stdout=out)
    script.expect("server2", CRM_MON, rc=102, stderr="Connection refused")
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused")
    script.expect("server1", ["systemctl", "stop", "pacemaker"])
    script.expect("server1", ["systemctl", "stop", "corosync"])
    script.expect("server1", ["systemctl", "is-active", "pacemaker"], rc=3, stdout="inactive\n")
    script.expect("server1", ["systemctl", "is-active", "corosync"], rc=3, stdout="inactive\n")
    ctx = make_ctx(script)
    data = ops.stop_pacemaker(ctx, "server1", whole_cluster=True)
    assert data["stopped"] == ["pacemaker", "corosync"] and data["online_nodes"] == []
    assert any("no node answers crm_mon" in w for w in ctx.warnings)


def test_a_rolling_stop_still_refuses_when_no_node_answers_crm_mon(script):
    """Outside method 1 an unreadable cluster is never taken as 'already stopped'."""
    from pacemaker_update.errors import CommandFailedError
    for argv, out in PCS_PROBE:  # the dialect is probed on the first node asked
        script.expect("server2", argv, stdout=out)
    script.expect("server2", CRM_MON, rc=102, stderr="Connection refused")
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused")
    with pytest.raises(CommandFailedError) as err:
        ops.stop_pacemaker(make_ctx(script), "server1")
    assert err.value.code == "STATUS_UNAVAILABLE"


# --- start_cluster: method 1's start, every node at once --------------------------------

def expect_starts(script, nodes):
    for node in nodes:
        script.expect(node, ["systemctl", "start", "corosync"])
        script.expect(node, ["systemctl", "start", "pacemaker"])


def test_start_cluster_starts_every_node_before_waiting_then_verifies_each(script, clock):
    """No wait between the starts (a lone node waits dc-deadtime for its peers); then every
    node online in a member's crm_mon, and in its own."""
    expect_starts(script, ["server1", "server2"])
    for argv, out in PCS_PROBE:
        script.expect("server1", argv, stdout=out)
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused")  # not up yet
    script.expect_status("server2", "two_node_stopped_node")  # server1 not online yet
    script.expect_status("server1", "two_node_normal")
    script.expect("server1", CRM_MON, rc=102, stderr="Connection refused")  # own view
    script.expect_status("server1", "two_node_normal")
    script.expect_status("server2", "two_node_normal")
    ctx = make_ctx(script)
    data = ops.start_cluster(ctx, ["server1", "server2"])
    assert data["nodes"] == ["server1", "server2"] and data["planned"] == []
    starts = [c for c in script.calls if c["argv"][:2] == ["systemctl", "start"]]
    assert script.calls[:4] == starts  # all started before the first crm_mon
    assert clock.sleeps == [base.POLL_INTERVAL, base.POLL_INTERVAL]


def test_start_cluster_starts_the_nodes_at_once(script):
    """Neither node's corosync start returns before the other's was sent: the last node is
    not held up by the others' starts (the outage of method 1 would pay them)."""
    expect_starts(script, ["server1", "server2"])
    corosync = ["systemctl", "start", "corosync"]
    script.meet("server1", "server2", corosync)
    script.meet("server2", "server1", corosync)
    for argv, out in PCS_PROBE:
        script.expect("server1", argv, stdout=out)
    script.expect_status("server1", "two_node_normal", times=3)  # all online, own view
    script.expect_status("server2", "two_node_normal")  # server2's own view
    data = ops.start_cluster(make_ctx(script), ["server1", "server2"])
    assert data["nodes"] == ["server1", "server2"]
    for node in ("server1", "server2"):  # each node: corosync, then pacemaker
        assert [c["argv"][2] for c in script.calls
                if c["host"] == node and c["argv"][:2] == ["systemctl", "start"]] == [
            "corosync", "pacemaker"]


def test_start_cluster_a_failed_start_names_its_node_after_every_start_was_made(script):
    script.expect("server1", ["systemctl", "start", "corosync"], rc=1,
                  stderr="Job for corosync.service failed")
    script.expect("server2", ["systemctl", "start", "corosync"])
    script.expect("server2", ["systemctl", "start", "pacemaker"])
    ctx = make_ctx(script)
    with pytest.raises(CommandFailedError) as err:
        ops.start_cluster(ctx, ["server1", "server2"])
    assert err.value.details["host"] == "server1"
    assert "corosync" in err.value.message
    # server2 was started all the same (asked for at once); nothing was polled afterwards
    assert sorted((c["host"], c["argv"][-1]) for c in ctx.commands) == [
        ("server1", "corosync"), ("server2", "corosync"), ("server2", "pacemaker")]


def test_start_cluster_fails_when_a_node_never_comes_online(script):
    expect_starts(script, ["server1", "server2"])
    for argv, out in PCS_PROBE:
        script.expect("server1", argv, stdout=out)
    for _ in range(int(1.0 / base.POLL_INTERVAL) + 1):
        script.expect_status("server1", "two_node_stopped_node")
    with pytest.raises(VerificationError) as err:
        ops.start_cluster(make_ctx(script), ["server1", "server2"], timeout=1)
    assert err.value.details["seen"] == ["server1 online=False pending=False"]


def test_start_cluster_dry_run_plans_every_start(script):
    ctx = make_ctx(script, dry_run=True)
    data = ops.start_cluster(ctx, ["server2", "server1"])
    assert [(p["host"], p["argv"][2]) for p in data["planned"]] == [
        ("server2", "corosync"), ("server2", "pacemaker"),
        ("server1", "corosync"), ("server1", "pacemaker")]


@pytest.mark.parametrize("nodes", [[], ["server1", "server1"], ["server1", "nosuch"],
                                   "server1", None])
def test_start_cluster_refuses_bad_node_lists_before_running_anything(script, nodes):
    with pytest.raises(InvalidInputError):
        ops.start_cluster(make_ctx(script), nodes)
    assert script.calls == []
