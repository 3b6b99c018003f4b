"""Rehearsals of the per-node rolling methods (3, 4, 5) through the real orquesta conductor.

What a user expects: nodes strictly one at a time in plan order (secondaries first), the
primary's resources failed over before its turn (method 4: by its own standby, seed step 4,
no separate failover first, and verified settled elsewhere before the node is updated), fail
fast with a report naming node and step, approvals that stop cleanly, and dry runs that only
plan.
"""

from typing import Any, Dict, List, Tuple

import pytest
from pacemaker_update.chatops.report import assemble_report
from test_workflows_driver import BOOKKEEPING, MUTATING, FakeCluster, rehearse

TWO = ["server2", "server1"]
THREE = ["server3", "server2", "server1"]

# method workflow -> the per-node steps as (action label, step name in the report); the
# cluster-wide wait_until_settled is labelled without a node (it has no node parameter)
NODE_STEPS = {
    "rolling_node_maintenance": [
        ("set_node_maintenance(on)", "maintenance_on"),
        ("update_packages", "update_packages"),
        ("check_maintenance_exit", "maintenance_exit_guard"),
        ("set_node_maintenance(off)", "maintenance_off"),
    ],
    "rolling_standby": [
        ("set_node_standby(on)", "standby"),
        ("wait_until_settled", "verify_moved"),  # its resources run elsewhere, settled
        ("update_packages", "update_packages"),
        ("set_node_standby(off)", "online"),
    ],
    "rolling_stack_update": [
        ("stop_pacemaker", "stop_pacemaker"),
        ("update_packages", "update_packages"),
        ("start_pacemaker", "start_pacemaker"),
    ],
}
METHODS = sorted(NODE_STEPS)
# Methods wired to the expected-moves ledger, the maintenance window, render_report and the
# clean stop on an expired approval.
WIRED = {"rolling_standby", "rolling_stack_update", "rolling_node_maintenance"}
# The method name the report (and its Markdown title) carries.
CLUSTER_WIDE = {"wait_until_settled"}


def brief(label: str, node: str) -> Tuple[str, ...]:
    """How the driver names one call of `label` made for `node` (see Call.brief)."""
    return (label,) if label in CLUSTER_WIDE else (label, node)


REPORT_NAME = {
    "rolling_node_maintenance": "node_maintenance",
    "rolling_standby": "rolling_standby",
    "rolling_stack_update": "stack_update",
}


def expected_sequence(
    method: str, order: List[str], failback: bool = False, dry_run: bool = False
) -> List[Tuple[str, ...]]:
    """The pack actions a user expects, in order, for `order` with the primary last.

    A dry run plans the failback as a failover away from the node expected to hold the
    primary's resources (the first node updated): the failback action would plan nothing.
    """
    seq: List[Tuple[str, ...]] = [("preflight_check",), ("snapshot_state",)]
    for node in order:
        if node == order[-1] and method != "rolling_standby":
            seq.append(("failover", node))
        seq += [brief(label, node) for label, _ in NODE_STEPS[method]]
        seq += [("wait_until_settled",), ("preflight_check",)]
    if failback:
        seq += [("failover", order[0]) if dry_run else ("failback",), ("wait_until_settled",)]
    seq.append(("compare_state",))
    return seq


def run(method: str, order: List[str], **kw: Any) -> Any:
    fake_kw = {
        k: kw.pop(k)
        for k in ("fail_at", "fail_nth", "answers", "window_refuse_at", "as_actionbase")
        if k in kw
    }
    fake = FakeCluster(order, **fake_kw)
    inputs: Dict[str, Any] = {"cluster": "lab"}
    if "packages" not in kw:
        inputs["all_packages"] = True
    inputs.update(kw)
    result = rehearse(method, inputs, fake)
    result.fake = fake
    return result


@pytest.mark.parametrize("order", [THREE], ids=["3-nodes"])
@pytest.mark.parametrize("method", METHODS)
def test_success_processes_nodes_one_at_a_time_primary_last(method: str, order: List[str]) -> None:
    r = run(method, order)
    assert r.status == "succeeded", r.errors
    assert r.sequence() == expected_sequence(method, order)
    report = r.report
    assert report["status"] == "succeeded" and report["order"] == order
    assert report["failovers"][0]["away_from"] == order[-1]
    assert len(report["failovers"]) == 1
    for node in order:
        entry = report["nodes"][node]
        assert entry["versions_before"]["pkg-a"] == "1.0-1"
        assert entry["versions_after"]["pkg-a"] == "1.0-2"
        assert entry["changed"] == {"pkg-a": {"before": "1.0-1", "after": "1.0-2"}}
        assert all(step["ok"] and step["started"] and step["ended"] for step in entry["steps"])
        assert entry["state"] == "online, updated"
    assert report["warnings"] == ["update_packages warning"] * len(order)
    assert r.output["current_step"] == "done"


def test_rolling_standby_parameters_on_two_nodes() -> None:
    r = run("rolling_standby", TWO, packages=["httpd"], wait_timeout=60, update_timeout=900)
    calls = [
        (c.name, c.params)
        for c in r.calls
        if c.ref.startswith("pacemaker_update.") and c.name not in BOOKKEEPING
    ]
    assert calls[0] == ("preflight_check", {"cluster": "lab", "method": "rolling_standby"})
    assert calls[2] == (
        "set_node_standby",
        {
            "cluster": "lab",
            "node": "server2",
            "enabled": True,
            "dry_run": False,
            "wait_timeout": 60,
        },
    )
    # its resources run elsewhere and the cluster settled, before anything is updated
    assert calls[3] == ("wait_until_settled", {"cluster": "lab", "away_from": "server2",
                                               "moved": [], "wait_timeout": 300})
    assert calls[4] == (
        "update_packages",
        {
            "cluster": "lab",
            "node": "server2",
            "packages": ["httpd"],
            "all_packages": False,
            "dry_run": False,
            "wait_timeout": 900,
        },
    )
    assert calls[6] == ("wait_until_settled", {"cluster": "lab", "wait_timeout": 300})
    assert calls[7] == (
        "preflight_check",
        {"cluster": "lab", "method": "rolling_standby", "allow_version_skew": True},
    )
    # the primary: its own standby moves its resources (no failover standby+online first),
    # verified settled elsewhere before its update
    assert calls[8] == (
        "set_node_standby",
        {"cluster": "lab", "node": "server1", "enabled": True, "dry_run": False,
         "wait_timeout": 60},
    )
    # what the standby moved off the primary (its moved_away) must run on another node
    assert calls[9] == ("wait_until_settled", {"cluster": "lab", "away_from": "server1",
                                               "moved": ["grp"], "wait_timeout": 300})
    assert calls[10][0] == "update_packages" and calls[10][1]["node"] == "server1"
    assert "failover" not in [name for name, _ in calls]
    assert calls[-1] == (
        "compare_state",
        {"cluster": "lab", "snapshot": r.report["snapshot"], "ignore_placement": True},
    )


def test_node_maintenance_restarts_declared_services_before_the_exit_guard() -> None:
    r = run("rolling_node_maintenance", TWO, restart_services=["httpd.service"])
    seq = r.sequence()
    i = seq.index(("update_packages", "server2"))
    assert seq[i + 1 : i + 3] == [
        ("restart_services", "server2"),
        ("check_maintenance_exit", "server2"),
    ]
    restart = next(c for c in r.calls if c.name == "restart_services")
    assert restart.params["services"] == ["httpd.service"]
    assert r.status == "succeeded"


@pytest.mark.parametrize("method", METHODS)
def test_failback_original_moves_resources_back_and_checks_placement(method: str) -> None:
    r = run(method, TWO, failback="original")
    assert r.status == "succeeded", r.errors
    assert r.sequence() == expected_sequence(method, TWO, failback=True)
    compare = next(c for c in r.calls if c.name == "compare_state")
    assert compare.params["ignore_placement"] is False
    failback = next(c for c in r.calls if c.name == "failback")
    assert failback.params["snapshot"] == r.report["snapshot"]
    assert [f["kind"] for f in r.report["failovers"]] == ["failover", "failback"]


def failure_cases() -> List[Tuple[str, Tuple[str, Any], int, Any, str]]:
    """(method, fail_at, nth, node named in the report, step named in the report)."""
    cases = []
    for method, steps in NODE_STEPS.items():
        # calls of the cluster-wide wait per node: the node's step(s), then its settle
        waits = 1 + sum(1 for label, _ in steps if label in CLUSTER_WIDE)
        actions = {
            "set_node_maintenance(on)": ("set_node_maintenance", 1),
            "set_node_maintenance(off)": ("set_node_maintenance", 2),
            "set_node_standby(on)": ("set_node_standby", 1),
            "set_node_standby(off)": ("set_node_standby", 2),
        }
        for index, (label, step) in enumerate(steps):
            action, nth = actions.get(label, (label, 1))
            # Every step fails on the primary (after its failover); the first step and a
            # cluster-wide one also on the secondary. The other secondary cases ran the
            # same transitions.
            if label in CLUSTER_WIDE:  # no node parameter: the nth call of the run
                for position, node in enumerate(TWO):
                    cases.append((method, (action, None), position * waits + 1, node, step))
                continue
            for node in TWO if index == 0 else ["server1"]:
                cases.append((method, (action, node), nth, node, step))
        if method != "rolling_standby":
            cases.append((method, ("failover", "server1"), 1, "server1", "failover"))
        cases.append((method, ("preflight_check", None), 1, None, "preflight"))
        cases.append((method, ("snapshot_state", None), 1, None, "snapshot"))
        cases.append((method, ("wait_until_settled", None), 2 * waits, "server1",
                      "wait_until_settled"))
        cases.append((method, ("preflight_check", None), 2, "server2", "health_gate"))
        cases.append((method, ("compare_state", None), 1, None, "verify"))
    return cases


@pytest.mark.parametrize(
    "method,fail_at,nth,node,step",
    failure_cases(),
    ids=[f"{c[0]}-{c[1][0]}-{c[1][1]}-{c[2]}" for c in failure_cases()],
)
def test_each_failure_stops_at_once_with_a_report(
    method: str, fail_at: Any, nth: int, node: Any, step: str
) -> None:
    r = run(method, TWO, fail_at=fail_at, fail_nth=nth)
    assert r.status == "failed"
    failure = r.report["failure"]
    assert (failure["node"], failure["step"]) == (node, step)
    expected_code = "NODE_NOT_IN_STANDBY" if fail_at[0] == "set_node_standby" else "ACTION_FAILED"
    assert failure["code"] == expected_code
    assert failure["hint"] == "look at crm_mon -rfA1 on the node"
    assert failure["state_after"] == {"nodes": {"server2": "online", "server1": "online"}}
    # Fail fast: the failed action is the last step called, then the report line and the
    # rendered report (Markdown) only.
    pack_calls = [
        c for c in r.calls if c.ref.startswith("pacemaker_update.") and c.name not in BOOKKEEPING
    ]
    assert pack_calls[-1].name == fail_at[0]
    assert r.report["status"] == "failed"
    if method in WIRED:
        assert [c.ref for c in r.calls[-2:]] == ["core.echo", "pacemaker_update.render_report"]
        assert "FAILED at node" in r.calls[-2].params["message"]
        assert assemble_report(r.calls[-1].params["parts"]) == r.report  # what was rendered
        assert r.output["report_markdown"].startswith(f"**{REPORT_NAME[method]} on lab: failed**")
    else:
        assert r.calls[-1].ref == "core.echo"
        assert "FAILED at node" in r.calls[-1].params["message"]
    if step in ("preflight", "snapshot"):
        assert failure["next"].startswith("Nothing was changed")
    else:
        assert failure["next"].startswith("pacemaker-update run rollback --cluster lab")
    failed_steps = [s for s in r.output["progress"] if not s["ok"]]
    assert [(s["node"], s["step"]) for s in failed_steps] == [(node, step)]


def test_failure_report_says_where_each_node_is_left() -> None:
    r = run("rolling_stack_update", TWO, fail_at=("update_packages", "server1"))
    failure = r.report["failure"]
    assert failure["node_states"] == {
        "server2": "online, updated",
        "server1": "pacemaker and corosync stopped",
    }
    assert failure["nodes_done"] == ["server2"]
    assert r.report["nodes"]["server2"]["versions_after"]["pkg-a"] == "1.0-2"


@pytest.mark.parametrize("method", METHODS)
def test_approve_each_node_asks_before_every_node(method: str) -> None:
    r = run(method, THREE, approve="each_node", answers=[True, True, True])
    assert r.status == "succeeded", r.errors
    assert r.sequence() == expected_sequence(method, THREE)
    texts = [a["schema"]["description"] for a in r.fake.asks]
    assert len(texts) == 3
    for node, text in zip(THREE, texts):
        assert f"node {node} " in text and method in text and "all packages" in text
    assert "fail over its resources" in texts[-1] and "fail over" not in texts[0]
    if method == "rolling_standby":  # the primary's standby is its failover, nothing before
        assert "this standby is the failover" in texts[-1]
    ask = r.fake.asks[0]
    assert ask["route"] == "pacemaker_update" and ask["ttl"] == 1440
    assert ask["schema"]["properties"]["approved"]["type"] == "boolean"
    # each ask comes right before its node's first action
    seq = r.sequence(include_core=True)
    for node in THREE:
        first = next(i for i, c in enumerate(seq) if len(c) == 2 and c[1] == node)
        assert seq[first - 1] == ("ask",)


@pytest.mark.parametrize("method", METHODS)
def test_denial_stops_cleanly_before_the_node(method: str) -> None:
    r = run(method, TWO, approve="each_node", answers=[True, False])
    assert r.status == "succeeded"
    assert r.report["status"] == "denied"
    assert r.report["denied"] == {"node": "server1", "before": "node"}
    assert not [c for c in r.calls if c.params.get("node") == "server1"]
    assert r.sequence()[-1] == ("preflight_check",)  # server2 finished, health gate passed
    assert r.report["failure"] is None
    if method in WIRED:
        assert "approval denied" in r.calls[-2].params["message"]
        assert r.calls[-1].name == "render_report"
        assert r.output["report_markdown"].startswith(
            f"**{REPORT_NAME[method]} on lab: denied**"
        )
    else:
        assert "approval denied" in r.calls[-1].params["message"]


@pytest.mark.parametrize("method", METHODS)
def test_approve_before_failover_asks_once_and_denial_leaves_primary_untouched(method: str) -> None:
    r = run(method, THREE, approve="before_failover", answers=[True])
    assert r.status == "succeeded" and len(r.fake.asks) == 1
    assert "away from the primary server1" in r.fake.asks[0]["schema"]["description"]
    seq = r.sequence(include_core=True)
    first = ("set_node_standby(on)" if method == "rolling_standby" else "failover", "server1")
    assert seq[seq.index(first) - 1] == ("ask",)

    r = run(method, TWO, approve="before_failover", answers=[False])
    assert r.report["status"] == "denied" and r.report["denied"]["before"] == "failover"
    assert not [c for c in r.calls if c.params.get("node") == "server1"]


@pytest.mark.parametrize("approve,expired_at", [("each_node", 1), ("before_failover", 0)])
@pytest.mark.parametrize("method", sorted(WIRED))
def test_expired_approval_stops_cleanly_before_the_node(
    method: str, approve: str, expired_at: int
) -> None:
    """st2 fails the core.ask task when its ttl expires: stop at the boundary, not half-way."""
    asks: List[Dict[str, Any]] = []

    def responder(ref: str, params: Dict[str, Any]) -> Any:
        if ref == "core.ask":
            asks.append(params)
            if len(asks) > expired_at:
                return False, {"error": "inquiry expired"}
            return True, dict(params, response={"approved": True})
        return fake(ref, params)

    fake = FakeCluster(TWO)
    r = rehearse(method, {"cluster": "lab", "approve": approve, "all_packages": True}, responder)
    assert r.status == "succeeded", r.errors
    report = r.report
    assert report["status"] == "approval_expired" and report["failure"] is None
    assert report["stopped"]["node"] == "server1"
    assert "approval expired, nothing was done on server1" in report["warnings"]
    # nothing at all on server1; server2 finished with its health gate; nothing left open
    assert not [c for c in r.calls if c.params.get("node") == "server1"]
    assert r.sequence()[-1] == ("preflight_check",)
    assert fake.ledger == {}
    assert report["nodes"]["server2"]["state"] == "online, updated"
    assert r.calls[-1].name == "render_report"
    assert "approval expired, nothing was done on server1" in r.output["report_markdown"]


@pytest.mark.parametrize("order", [THREE], ids=["3-nodes"])
@pytest.mark.parametrize("method", METHODS)
def test_dry_run_only_plans(method: str, order: List[str]) -> None:
    # planned commands as actionbase records them ("planned": true, no rc, no dry_run key)
    r = run(method, order, dry_run=True, approve="each_node", failback="original",
            as_actionbase=True)
    assert r.status == "succeeded", r.errors
    assert r.fake.asks == []  # approvals are skipped in dry run
    assert r.sequence() == expected_sequence(method, order, failback=True, dry_run=True)
    for call in r.calls:
        if call.name in MUTATING:
            assert call.params["dry_run"] is True, call
    report = r.report
    assert report["dry_run"] is True
    planned = [(p["node"], p["argv"]) for p in report["plan"] if p["dry_run"]]
    expected = []
    for node in order:
        if node == order[-1] and method != "rolling_standby":
            expected.append((node, ["failover", node]))
        for label, _ in NODE_STEPS[method]:
            action = label.split("(")[0]
            if action in MUTATING:
                expected.append((node, [action, node]))
    expected.append((None, ["failover", order[0]]))  # the failback, planned
    assert planned == expected
    assert any("failback is planned as a failover away from " + order[0] in w
               for w in report["warnings"])
    assert all(n["state"] == "unchanged (dry run)" for n in report["nodes"].values())


@pytest.mark.parametrize(
    "method,packages,all_packages",
    [("rolling_standby", [], False), ("rolling_stack_update", ["httpd"], True),
     ("rolling_node_maintenance", [], False)],
)
def test_packages_or_all_packages_is_checked_before_anything_runs(
    method: str, packages: List[str], all_packages: bool
) -> None:
    r = run(method, TWO, packages=packages, all_packages=all_packages)
    assert r.status == "failed"
    assert r.sequence() == []
    failure = r.report["failure"]
    assert (failure["code"], failure["step"]) == ("INVALID_INPUT", "check_input")
    assert failure["next"].startswith("Nothing was changed")


def test_named_packages_reach_every_update_and_the_question() -> None:
    r = run(
        "rolling_stack_update",
        TWO,
        packages=["pacemaker", "corosync"],
        approve="each_node",
        answers=[True, True],
    )
    updates = [c.params for c in r.calls if c.name == "update_packages"]
    assert [u["packages"] for u in updates] == [["pacemaker", "corosync"]] * 2
    assert all(u["all_packages"] is False and u["allow_running_stack"] is False for u in updates)
    assert "update pacemaker, corosync" in r.fake.asks[0]["schema"]["description"]


def test_stack_update_dry_run_allows_the_running_stack_only_because_nothing_runs() -> None:
    r = run("rolling_stack_update", TWO, dry_run=True)
    updates = [c.params for c in r.calls if c.name == "update_packages"]
    assert all(u["allow_running_stack"] is True and u["dry_run"] is True for u in updates)


@pytest.mark.parametrize("method,order", [("rolling_node_maintenance", TWO),
                                          ("rolling_cluster_maintenance", TWO)])
def test_leaving_maintenance_is_given_the_exit_check_just_made(method: str,
                                                               order: List[str]) -> None:
    """The guard step's result goes to the action that leaves maintenance (which reuses its
    re-probe while the CIB is unchanged, ops/guard.py), for each node in turn."""
    r = run(method, order)
    assert r.status == "succeeded", r.errors
    checks = [c for c in r.calls if c.name == "check_maintenance_exit"]
    leaving = [c for c in r.calls if c.name.startswith("set_") and c.name.endswith(
        "maintenance") and c.params.get("enabled") is False]
    assert len(checks) == len(leaving) == (len(order) if method == "rolling_node_maintenance"
                                           else 1)
    for check, leave in zip(checks, leaving):
        assert leave.params["exit_check"]["node"] == check.params.get("node")
        assert leave.params["exit_check"]["reprobed"] is True
