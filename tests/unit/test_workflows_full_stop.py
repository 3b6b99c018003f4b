"""Method 1 (full_stop_update) updates every node's packages at once: one with-items item per
node, after every node was stopped and before every node is started.

Rehearsed through the real orquesta conductor (test_workflows_driver: every item is started
before any ends, as concurrent executions are). What a user sees: each node's versions and
commands in the report; a failed update names its node(s), says the others' states (updated
or unknown), and never starts the cluster; a dry run lists every node's commands.
"""

from typing import Any, Dict, List, Set, Tuple

import pytest
import yaml
from test_workflows_driver import ACTIONS, FakeCluster, rehearse

TWO = ["server2", "server1"]
THREE = ["server3", "server2", "server1"]
WAS_STOPPED = "was pacemaker and corosync stopped"


class FailingUpdates:
    """FakeCluster whose update_packages fails on the given nodes (coded envelope, as the
    python action answers a failed yum)."""

    def __init__(self, order: List[str], failing: Set[str], **kw: Any) -> None:
        self.fake = FakeCluster(order, **kw)
        self.failing = failing
        self.asks = self.fake.asks

    def __call__(self, ref: str, params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
        if ref == "pacemaker_update.update_packages" and params["node"] in self.failing:
            envelope = self.fake._envelope("update_packages", params)
            envelope.update(ok=False, data={}, error={
                "code": "COMMAND_FAILED",
                "message": f"`yum -y update` failed on {params['node']} with rc 1",
                "details": {"host": params["node"], "rc": 1}, "hint": None})
            return False, {"result": envelope, "stdout": "", "stderr": "", "exit_code": 1}
        return self.fake(ref, params)


def full_stop(order: List[str], responder: Any, **inputs: Any) -> Any:
    return rehearse("full_stop_update", dict({"cluster": "lab", "all_packages": True}, **inputs),
                    responder)


def echoed(run: Any) -> List[str]:
    return [c.params["message"] for c in run.calls if c.ref == "core.echo"]


def test_the_update_step_is_one_item_per_node_all_at_once() -> None:
    spec = yaml.safe_load((ACTIONS / "workflows" / "full_stop_update.yaml").read_text())
    update = spec["tasks"]["update"]
    assert update["action"] == "pacemaker_update.update_packages"
    assert update["with"] == {"items": "<% ctx().order %>",
                              "concurrency": "<% len(ctx().order) %>"}
    assert update["input"]["node"] == "<% item() %>"


@pytest.mark.parametrize("order", [TWO, THREE], ids=["2-nodes", "3-nodes"])
def test_every_node_is_updated_between_the_stops_and_the_start(order: List[str]) -> None:
    r = full_stop(order, FakeCluster(order))
    assert r.status == "succeeded", r.errors
    seq = r.sequence()
    updates = [i for i, s in enumerate(seq) if s[0] == "update_packages"]
    assert [seq[i][1] for i in updates] == order  # one item per node, in plan order
    assert max(i for i, s in enumerate(seq) if s[0] == "stop_pacemaker") < min(updates)
    assert seq[max(updates) + 1] == ("start_cluster", ",".join(order))
    for node in order:
        info = r.report["nodes"][node]
        assert info["state"] == "online, updated"
        assert info["versions_after"] == {"pkg-a": "1.0-2", "pkg-b": "2.0-1"}
        assert info["changed"] == {"pkg-a": {"before": "1.0-1", "after": "1.0-2"}}
        assert [s["step"] for s in info["steps"]] == ["stop_pacemaker", "update_packages"]
        assert all(s["ok"] for s in info["steps"])
        # each node's own commands in the plan, on that node
        assert [p["host"] for p in r.report["plan"]
                if p["node"] == node and p["step"] == "update_packages"] == [node, node]
    assert r.report["warnings"].count("update_packages warning") == len(order)


@pytest.mark.parametrize("failing", ["server2", "server1"])
def test_a_failed_update_names_its_node_and_the_other_is_updated(failing: str) -> None:
    r = full_stop(TWO, FailingUpdates(TWO, {failing}))
    other = next(n for n in TWO if n != failing)
    assert r.status == "failed"
    failure = r.report["failure"]
    assert (failure["node"], failure["step"], failure["code"]) == (
        failing, "update_packages", "COMMAND_FAILED")
    assert failure["failed_nodes"] == [failing]
    assert failure["nodes_done_in_this_phase"] == [other] == r.report["nodes_done"]
    # both updates ran (at once), nothing was started afterwards
    seq = r.sequence()
    assert seq[-2:] == [("update_packages", n) for n in TWO]
    assert not [s for s in seq if s[0] == "start_cluster"]
    nodes = r.report["nodes"]
    assert nodes[failing]["state"].startswith(
        f"unknown (update_packages failed on this node, {WAS_STOPPED})")
    assert nodes[failing]["versions_after"] is None
    assert nodes[other]["state"] == failure["node_states"][other] == \
        "pacemaker stopped, packages updated"
    assert nodes[other]["versions_after"] == {"pkg-a": "1.0-2", "pkg-b": "2.0-1"}
    assert [(s["step"], s["ok"]) for s in nodes[failing]["steps"]] == [
        ("stop_pacemaker", True), ("update_packages", False)]
    assert [(s["step"], s["ok"]) for s in nodes[other]["steps"]] == [
        ("stop_pacemaker", True), ("update_packages", True)]
    [message] = [m for m in echoed(r) if "FAILED" in m]
    assert f"FAILED at node {failing}, step update_packages: COMMAND_FAILED" in message
    assert "rollback --cluster lab" in failure["next"]


def test_updates_failing_on_several_nodes_name_each_of_them() -> None:
    r = full_stop(THREE, FailingUpdates(THREE, {"server3", "server1"}))
    failure = r.report["failure"]
    assert failure["node"] == "server3"  # the first in plan order
    assert failure["failed_nodes"] == ["server3", "server1"]
    assert failure["nodes_done_in_this_phase"] == ["server2"]
    states = {n: v["state"] for n, v in r.report["nodes"].items()}
    for node in ("server3", "server1"):
        assert states[node].startswith(f"unknown (update_packages failed on this node, "
                                       f"{WAS_STOPPED})"), states
        assert [s["ok"] for s in r.report["nodes"][node]["steps"]] == [True, False]
    assert states["server2"] == "pacemaker stopped, packages updated"
    [message] = [m for m in echoed(r) if "FAILED" in m]
    assert "FAILED at node server3, server1, step update_packages" in message


def test_dry_run_lists_every_nodes_update_commands_on_that_node() -> None:
    r = full_stop(THREE, FakeCluster(THREE, as_actionbase=True), dry_run=True)
    assert r.status == "succeeded" and r.report["dry_run"] is True
    updates = [c for c in r.calls if c.name == "update_packages"]
    assert [c.params["node"] for c in updates] == THREE
    assert all(c.params["dry_run"] and c.params["allow_running_stack"] for c in updates)
    planned = [(p["node"], p["step"], p["host"], p["argv"]) for p in r.report["plan"]
               if p["dry_run"]]
    assert planned == (
        [(n, "stop_pacemaker", n, ["stop_pacemaker", n]) for n in THREE]
        + [(n, "update_packages", n, ["update_packages", n]) for n in THREE]
        + [(None, "start_cluster", THREE[0], ["start_cluster", "None"])])
    assert {n: v["state"] for n, v in r.report["nodes"].items()} == {
        n: "unchanged (dry run)" for n in THREE}
