"""Rehearsals of method 1, method 2, the update_cluster dispatcher and rollback, plus the
static checks every workflow must pass (orquesta inspection, st2 metadata, no duplicate keys).
"""

from typing import Any, Dict, List, Optional

import pytest
import yaml
from test_workflows_driver import ACTIONS, MUTATING, FakeCluster, inspect_workflow, rehearse

TWO = ["server2", "server1"]
THREE = ["server3", "server2", "server1"]
WORKFLOWS = sorted(p.stem for p in (ACTIONS / "workflows").glob("*.yaml"))
METHODS = {
    "full_stop": "full_stop_update",
    "cluster_maintenance": "rolling_cluster_maintenance",
    "node_maintenance": "rolling_node_maintenance",
    "rolling_standby": "rolling_standby",
    "stack_update": "rolling_stack_update",
}


def run(name: str, order: List[str], **kw: Any) -> Any:
    fake_kw = {k: kw.pop(k) for k in ("fail_at", "fail_nth", "answers", "as_actionbase")
               if k in kw}
    fake = FakeCluster(order, **fake_kw)
    inputs: Dict[str, Any] = {"cluster": "lab"}
    if name != "rollback" and "packages" not in kw:
        inputs["all_packages"] = True
    inputs.update(kw)
    result = rehearse(name, inputs, fake)
    result.fake = fake
    return result


# ------------------------------------------------------------------ static checks


class DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys, as orquesta >= 1.4 does."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {dupes}", node.start_mark
        )
    return loader.construct_mapping(node, deep=deep)


DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def test_every_update_method_and_rollback_has_a_workflow() -> None:
    assert set(WORKFLOWS) == set(METHODS.values()) | {"update_cluster", "rollback"}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_inspects_cleanly_and_has_no_duplicate_keys(name: str) -> None:
    text = (ACTIONS / "workflows" / f"{name}.yaml").read_text()
    assert inspect_workflow(text) == {}
    yaml.load(text, Loader=DuplicateKeyLoader)  # noqa: S506 - SafeLoader subclass


@pytest.mark.parametrize("name", WORKFLOWS)
def test_metadata_points_to_the_workflow_and_declares_its_inputs(name: str) -> None:
    meta = yaml.load((ACTIONS / f"{name}.yaml").read_text(), Loader=DuplicateKeyLoader)  # noqa: S506
    assert meta["runner_type"] == "orquesta" and meta["pack"] == "pacemaker_update"
    assert meta["entry_point"] == f"workflows/{name}.yaml"
    spec = yaml.safe_load((ACTIONS / meta["entry_point"]).read_text())
    inputs = {i if isinstance(i, str) else next(iter(i)) for i in spec["input"]}
    assert inputs == set(meta["parameters"])
    for enum_param in ("method", "failback", "approve"):
        if enum_param in meta["parameters"]:
            assert meta["parameters"][enum_param]["enum"]
    defaults = {next(iter(i)): next(iter(i.values())) for i in spec["input"] if isinstance(i, dict)}
    for pname, pspec in meta["parameters"].items():
        if "default" in pspec:
            assert defaults.get(pname) == pspec["default"], pname


def test_no_join_anywhere() -> None:
    for name in WORKFLOWS:
        spec = yaml.safe_load((ACTIONS / "workflows" / f"{name}.yaml").read_text())
        assert not [t for t, body in spec["tasks"].items() if "join" in body], name


# ------------------------------------------------------------------ method 1


@pytest.mark.parametrize("order", [THREE], ids=["3-nodes"])
def test_full_stop_stops_all_then_updates_all_then_starts_all(order: List[str]) -> None:
    r = run("full_stop_update", order)
    assert r.status == "succeeded", r.errors
    assert r.sequence() == (
        [("preflight_check",), ("snapshot_state",)]
        + [("stop_pacemaker", n) for n in order]
        + [("update_packages", n) for n in order]
        + [("start_cluster", ",".join(order))]  # all together: no dc-deadtime per node
        + [("wait_until_settled",), ("preflight_check",), ("compare_state",)]
    )
    gate = [c for c in r.calls if c.name == "preflight_check"][-1]
    assert gate.params == {"cluster": "lab", "method": "full_stop"}  # versions must match again
    assert r.calls[0].params["method"] == "full_stop"
    assert all(r.report["nodes"][n]["versions_after"]["pkg-a"] == "1.0-2" for n in order)


def test_full_stop_asks_once_for_the_outage_and_denial_touches_nothing() -> None:
    r = run("full_stop_update", TWO, approve="each_node", answers=[True], failback="original")
    assert r.status == "succeeded" and len(r.fake.asks) == 1
    assert "THE SERVICE IS DOWN" in r.fake.asks[0]["schema"]["description"]
    assert ("failback",) in r.sequence()
    r = run("full_stop_update", TWO, approve="before_failover", answers=[False])
    assert r.report["status"] == "denied"
    assert r.sequence() == [("preflight_check",), ("snapshot_state",)]


@pytest.mark.parametrize(
    "action,node",
    [("stop_pacemaker", "server1"), ("start_cluster", None)],
)  # a failed package update: test_workflows_full_stop.py (every node's runs at once)
def test_full_stop_failure_names_node_and_step(action: str, node: Optional[str]) -> None:
    r = run("full_stop_update", TWO, fail_at=(action, node))
    assert r.status == "failed"
    assert (r.report["failure"]["node"], r.report["failure"]["step"]) == (node, action)
    assert r.sequence()[-1] == ((action, node) if node else (action, ",".join(TWO)))
    assert "rollback --cluster lab" in r.report["failure"]["next"]
    # the failed node's state is unknown (every node's, for the start of all of them), never
    # its last verified one; the others keep theirs
    before = {"stop_pacemaker": "online",
              "start_cluster": "pacemaker stopped, packages updated"}[action]
    for states in (r.report["failure"]["node_states"],
                   {n: v["state"] for n, v in r.report["nodes"].items()}):
        for other in TWO:
            unknown = states[other].startswith(f"unknown ({action} failed on this node, "
                                               f"was {before})")
            assert unknown == (node in (None, other)), states


def test_full_stop_dry_run_plans_every_node_in_order() -> None:
    r = run("full_stop_update", TWO, dry_run=True, approve="each_node", as_actionbase=True)
    assert r.status == "succeeded" and r.fake.asks == []
    assert all(c.params["dry_run"] for c in r.calls if c.name in MUTATING)
    planned = [(p["node"], p["argv"][0]) for p in r.report["plan"] if p["dry_run"]]
    assert planned == [
        (n, a) for a in ("stop_pacemaker", "update_packages") for n in TWO
    ] + [(None, "start_cluster")]  # one start of every node (its commands name each host)


# ------------------------------------------------------------------ method 2


@pytest.mark.parametrize("order", [THREE], ids=["3-nodes"])
def test_cluster_maintenance_updates_inside_one_maintenance_window(order: List[str]) -> None:
    r = run("rolling_cluster_maintenance", order, restart_services=["httpd.service"])
    assert r.status == "succeeded", r.errors
    per_node = [s for n in order for s in (("update_packages", n), ("restart_services", n))]
    assert r.sequence() == (
        [("preflight_check",), ("snapshot_state",), ("set_cluster_maintenance(on)",)]
        + per_node
        + [
            ("check_maintenance_exit",),
            ("set_cluster_maintenance(off)",),
            ("wait_until_settled",),
            ("compare_state",),
        ]
    )
    guard = next(c for c in r.calls if c.name == "check_maintenance_exit")
    assert "node" not in guard.params  # cluster-wide guard
    compare = next(c for c in r.calls if c.name == "compare_state")
    assert compare.params["ignore_placement"] is False  # nothing may move
    assert r.report["failovers"] == [] and r.report["maintenance_mode"] == "off"


def test_cluster_maintenance_failure_says_maintenance_mode_is_on() -> None:
    r = run("rolling_cluster_maintenance", TWO, fail_at=("update_packages", "server1"))
    assert r.status == "failed"
    failure = r.report["failure"]
    assert (failure["node"], failure["step"]) == ("server1", "update_packages")
    assert failure["cluster_maintenance_mode"].startswith("ON - left on on purpose")
    assert "maintenance-mode is ON" in failure["next"]
    assert ("set_cluster_maintenance(off)",) not in r.sequence()
    assert r.report["maintenance_mode"] == "on"


def test_cluster_maintenance_failure_before_entering_says_it_is_off() -> None:
    r = run("rolling_cluster_maintenance", TWO, fail_at=("snapshot_state", None))
    assert r.report["failure"]["cluster_maintenance_mode"] == "off"


def test_cluster_maintenance_denial_lifts_maintenance_through_the_guard() -> None:
    r = run("rolling_cluster_maintenance", TWO, approve="each_node", answers=[True, False])
    assert r.status == "succeeded" and r.report["status"] == "denied"
    seq = r.sequence()
    assert ("update_packages", "server1") not in seq
    assert seq[-4:] == [
        ("check_maintenance_exit",),
        ("set_cluster_maintenance(off)",),
        ("wait_until_settled",),
        ("compare_state",),
    ]
    assert r.report["maintenance_mode"] == "off"


def test_cluster_maintenance_dry_run() -> None:
    r = run("rolling_cluster_maintenance", TWO, dry_run=True, approve="each_node",
            as_actionbase=True)
    assert r.status == "succeeded" and r.fake.asks == []
    planned = [p["argv"] for p in r.report["plan"] if p["dry_run"]]
    assert planned == [
        ["set_cluster_maintenance", "None"],
        ["update_packages", "server2"],
        ["update_packages", "server1"],
        ["set_cluster_maintenance", "None"],
    ]


# ------------------------------------------------------------------ dispatcher


@pytest.mark.parametrize("method", sorted(METHODS))
def test_update_cluster_dispatches_and_passes_the_report_through(method: str) -> None:
    r = run("update_cluster", TWO, method=method, dry_run=True, failback="none")
    assert r.status == "succeeded", r.errors
    sub = [c for c in r.calls if c.depth == 0]
    assert [c.name for c in sub] == [METHODS[method]]
    assert sub[0].params["dry_run"] is True
    assert r.report["method"] == method and r.report["dry_run"] is True
    assert r.report["plan"] and r.output["current_step"] == "done"
    direct = run(METHODS[method], TWO, dry_run=True)
    assert r.sequence() == direct.sequence()


def test_update_cluster_failure_fails_with_the_child_report() -> None:
    r = run(
        "update_cluster", TWO, method="rolling_standby", fail_at=("set_node_standby", "server1")
    )
    assert r.status == "failed"
    assert (r.report["failure"]["node"], r.report["failure"]["step"]) == ("server1", "standby")
    assert r.output["current_node"] == "server1"


def test_update_cluster_refuses_unknown_method_before_anything_runs() -> None:
    from test_workflows_driver import DriverError

    with pytest.raises(DriverError, match="not in"):
        run("update_cluster", TWO, method="yolo")


def test_update_cluster_failback_original_reaches_the_method() -> None:
    r = run(
        "update_cluster",
        TWO,
        method="stack_update",
        failback="original",
        approve="before_failover",
        answers=[True],
    )
    assert r.status == "succeeded"
    assert ("failback",) in r.sequence() and len(r.fake.asks) == 1


# ------------------------------------------------------------------ rollback


@pytest.mark.parametrize("order", [THREE], ids=["3-nodes"])
def test_rollback_brings_every_node_back_with_guarded_exits(order: List[str]) -> None:
    r = run("rollback", order)
    assert r.status == "succeeded", r.errors
    per_node = [
        s
        for n in order
        for s in (
            ("start_pacemaker", n),
            ("set_node_maintenance(off)", n),
            ("set_node_standby(off)", n),
        )
    ]
    assert r.sequence() == [("detect_roles",)] + per_node + [
        ("set_cluster_maintenance(off)",),
        ("wait_until_settled",),
    ]


def test_rollback_with_snapshot_moves_resources_back_and_verifies() -> None:
    snapshot = {"resources": {"grp": {"node": "server1", "role": "Started"}}}
    r = run("rollback", TWO, snapshot=snapshot)
    assert r.sequence()[-3:] == [("failback",), ("wait_until_settled",), ("compare_state",)]
    assert next(c for c in r.calls if c.name == "failback").params["snapshot"] == snapshot
    assert r.report["failovers"][0]["kind"] == "failback"


def test_rollback_failure_names_node_and_step() -> None:
    r = run("rollback", TWO, fail_at=("set_node_maintenance", "server1"))
    assert r.status == "failed"
    assert (r.report["failure"]["node"], r.report["failure"]["step"]) == (
        "server1",
        "maintenance_off",
    )
    assert "rollback --cluster lab again" in r.report["failure"]["next"]


def test_rollback_dry_run_changes_nothing() -> None:
    # as_actionbase: planned commands marked the way the real actions mark them
    r = run("rollback", TWO, dry_run=True, snapshot={"resources": {}}, as_actionbase=True)
    assert r.status == "succeeded"
    assert all(c.params["dry_run"] for c in r.calls if c.name in MUTATING)
    assert len([p for p in r.report["plan"] if p["dry_run"]]) == 2 * 3 + 2
