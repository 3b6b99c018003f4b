"""Unexpected-failover detection against the REAL lab cluster (2 nodes, crmsh), over SSH.

The test drives ClusterPoller itself (one poll_once per `interval`), exactly what the
sensor's worker and the embedded watcher do. Faults come from the lab (lab/pmlab/faults):
moving the service group by hand, crashing a node, killing the service process. A standby
covered by a ledger entry must raise nothing unexpected. No timing is asserted; detection
latency is measured by bench/bench_detect.py.
"""

import time

import pytest
from pacemaker_update.config import load_config_file
from pacemaker_update.detect import ClusterPoller, MemoryLedgerStore, new_entry

pytestmark = [pytest.mark.lab, pytest.mark.slow]
INTERVAL = 1.0
DEADLINE = 60.0


@pytest.fixture
def lab(lab_factory):
    cluster = lab_factory(nodes=2, frontend="crmsh")
    cluster.reset()
    return cluster


def make_poller(lab, ledger=None):
    config = load_config_file(lab.state_dir / "config.yaml").cluster("lab")
    poller = ClusterPoller(config, ledger or MemoryLedgerStore())
    assert poller.poll_once() == []  # baseline snapshot
    return poller


def collect(poller, until, deadline=DEADLINE):
    """Poll every INTERVAL until ``until(dispatches)`` holds; all dispatches seen."""
    seen, end = [], time.monotonic() + deadline
    while time.monotonic() < end:
        seen.extend(poller.poll_once())
        if until(seen):
            return seen
        time.sleep(INTERVAL)
    raise AssertionError(f"condition not met; saw {[d.payload.get('message') for d in seen]}")


def unexpected(seen, kind=None):
    return [d.payload for d in seen if d.trigger.endswith("unexpected_failover")
            and (kind is None or d.payload["kind"] == kind)]


def test_moving_the_service_group_by_hand_is_unexpected(lab):
    poller = make_poller(lab)
    lab.move("web-group", "server2")
    seen = collect(poller, lambda s: unexpected(s, "resource_moved"))
    moved = unexpected(seen, "resource_moved")[0]
    assert (moved["from_node"], moved["to_node"]) == ("server1", "server2")
    assert moved["expected"] is False and moved["cluster"] == "lab"
    poller.close()


def test_killing_the_service_process_is_a_failed_action(lab):
    poller = make_poller(lab)
    lab.kill_service("server1")
    seen = collect(poller, lambda s: unexpected(s, "failed_action"))
    assert unexpected(seen, "failed_action")[0]["node"] == "server1"
    poller.close()


def test_crashing_a_node_is_unexpected(lab):
    poller = make_poller(lab)
    try:
        lab.crash("server1")
        seen = collect(poller, lambda s: [p for p in unexpected(s)
                                          if p["kind"] in ("node_unclean", "node_offline")])
        assert any(p["node"] == "server1" for p in unexpected(seen))
    finally:
        poller.close()
        lab.poweron("server1")


def test_standby_with_a_ledger_entry_raises_nothing_unexpected(lab):
    ledger = MemoryLedgerStore()
    poller = make_poller(lab, ledger)
    ledger.open(new_entry("lab", "labrun", "standby_server1", "standby", "server1"))
    lab.exec("server1", ["crm", "node", "standby", "server1"])
    seen = collect(poller, lambda s: any(d.payload.get("kind") == "resource_moved"
                                         and d.payload.get("resource") == "vip" for d in s))
    seen += collect(poller, lambda s: True, deadline=3 * INTERVAL)  # let it settle
    assert unexpected(seen) == []
    assert {d.payload["ledger_entry"] for d in seen} == {"labrun.standby_server1"}
    ledger.close("lab", "labrun.standby_server1")
    ledger.open(new_entry("lab", "labrun", "online_server1", "unstandby", "server1"))
    lab.exec("server1", ["crm", "node", "online", "server1"])
    back = collect(poller, lambda s: any(d.payload.get("kind") == "node_unstandby" for d in s))
    back += collect(poller, lambda s: True, deadline=5 * INTERVAL)
    assert unexpected(back) == []
    poller.close()
