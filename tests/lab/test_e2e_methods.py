"""End to end on the real lab: every update method through `pacemaker-update run
update_cluster` (a subprocess, the real workflows, the embedded orquesta runner, SSH to the
nodes), crmsh and pcs on 2 nodes, methods 4 and 5 also on 3 nodes, and a dry run.

Each test checks what a user checks afterwards: the lab's package DB of every node, the lab's
package log (what was running on the node when its packages changed), crm_mon's end state,
and the VIP probe a client ran during the update, compared with the lab's own measured
single-standby-move outage (e2e_support.reference_outage), never with a fixed number.

One lab per configuration (lab_factory), reset before each test; the tests are ordered by
configuration so each lab comes up once. Timings are printed (-s), never asserted.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    METHOD_PACKAGES,
    CrmWatch,
    action_seconds,
    assert_packages_updated,
    changing_transactions,
    cli_argv,
    end_state,
    newest_versions,
    one_switchover,
    reference_outage,
    run_cli,
    run_timings,
    task_rows,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# (nodes, frontend, method, failback), grouped by lab configuration.
CASES = [
    (2, "crmsh", "full_stop", "none"),
    (2, "crmsh", "cluster_maintenance", "none"),
    (2, "crmsh", "node_maintenance", "original"),
    (2, "crmsh", "rolling_standby", "original"),
    (2, "crmsh", "stack_update", "original"),
    (2, "pcs", "full_stop", "original"),
    (2, "pcs", "cluster_maintenance", "none"),
    (2, "pcs", "node_maintenance", "none"),
    (2, "pcs", "rolling_standby", "none"),
    (2, "pcs", "stack_update", "none"),
    (3, "crmsh", "rolling_standby", "original"),
    (3, "crmsh", "stack_update", "none"),
]
TIMES: list[str] = []


def _id(case: tuple[int, str, str, str]) -> str:
    return f"{case[0]}n-{case[1]}-{case[2]}-failback_{case[3]}"


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_factory: Any) -> Any:
    nodes, frontend = request.param
    handle = lab_factory(nodes, frontend, False)
    handle.reset()
    return handle


@pytest.fixture(scope="module", autouse=True)
def _print_wall_times() -> Any:
    """The per-method figures of this session, in one place at the end (-s)."""
    yield
    if TIMES:
        print("\n[e2e] summary\n" + "\n".join(TIMES))


def _lab_params(cases: list[tuple[int, str, str, str]]) -> list[Any]:
    """One xdist group per lab configuration: each runs on one worker's own lab."""
    return [pytest.param((c[0], c[1]), c[2], c[3], id=_id(c),
                         marks=pytest.mark.xdist_group(name=f"e2e-{c[0]}n-{c[1]}"))
            for c in cases]


@pytest.mark.xdist_group(name="e2e-2n-crmsh")
@pytest.mark.parametrize("lab", [(2, "crmsh")], indirect=True)
def test_dry_run_touches_nothing_and_plans_every_command_per_node(lab: Any,
                                                                   tmp_path: Path) -> None:
    before = {n: lab.package_db(n) for n in lab.nodes}
    primary = lab.summary()["resources"]["web"][0]
    argv = cli_argv(lab, tmp_path, "rolling_standby", ["httpd"], dry_run=True,
                    failback="original")
    with CrmWatch(lab, interval=0.2) as watch, lab.probe() as probe:
        run = run_cli(argv)
        figures = probe.stop()
    assert run.rc == 0, run.explain()
    report = run.report
    assert report["dry_run"] is True and report["status"] == "succeeded", run.explain()

    # nothing touched
    assert {n: lab.package_db(n) for n in lab.nodes} == before
    assert all(lab.package_log(n) == [] for n in lab.nodes)
    assert watch.samples, "crm_mon was never read during the dry run"
    assert watch.seen("standby") == [] and watch.seen("maintenance") == []
    assert not watch.maintenance_mode_seen()
    assert watch.service_nodes() == [[primary]]
    assert figures["failed"] == 0 and figures["switchovers"] == [], figures
    assert end_state(lab, primary).problems == []

    # the plan: per node, in order, the commands a real run sends
    secondary = [n for n in lab.nodes if n != primary][0]
    assert report["order"] == [secondary, primary]
    plan = [(p["node"], p["host"], p["argv"]) for p in report["plan"]]

    def positions(node: str, argv: list[str]) -> list[int]:
        hits = [i for i, (n, _, a) in enumerate(plan) if n == node and a == argv]
        assert hits, f"the plan lacks {argv} for {node}: {plan}"
        return hits

    updates = {}
    for node in report["order"]:
        update = positions(node, ["yum", "-y", "update", "httpd"])
        assert len(update) == 1, f"{node} updated more than once in the plan"
        standby = positions(node, ["crm", "node", "standby", node])
        online = positions(node, ["crm", "node", "online", node])
        # standby right before its update (the primary's failover comes earlier), online after
        assert any(i < update[0] for i in standby), f"{node}: no standby before its update"
        assert any(i > update[0] for i in online), f"{node}: no online after its update"
        updates[node] = update[0]
    assert updates[secondary] < updates[primary], "the secondary is updated first"
    failover = positions(primary, ["crm", "node", "standby", primary])[0]
    assert updates[secondary] < failover < updates[primary], "the primary fails over in between"
    hosts = {h for n, h, a in plan if a[:2] == ["yum", "-y"]}
    assert hosts == set(lab.nodes), "each node's update runs on that node"


@pytest.mark.parametrize(("lab", "method", "failback"), _lab_params(CASES),
                         indirect=["lab"])
def test_method_updates_every_node_and_leaves_a_healthy_cluster(
        lab: Any, method: str, failback: str, tmp_path: Path) -> None:
    reference = reference_outage(lab)
    lab.reset()
    one_switchover_s = one_switchover(reference)
    packages = METHOD_PACKAGES[method]
    primary = lab.summary()["resources"]["web"][0]
    before = {n: lab.package_db(n) for n in lab.nodes}
    params: dict[str, Any] = {}
    if method != "cluster_maintenance":
        params["failback"] = failback
    argv = cli_argv(lab, tmp_path, method, packages, **params)

    with CrmWatch(lab) as watch, lab.probe() as probe:
        run = run_cli(argv)
        time.sleep(1.0)  # the client keeps asking a moment after the command returned
        figures = probe.stop()

    assert run.rc == 0, run.explain()
    report = run.report
    assert report["status"] == "succeeded" and report["failure"] is None, run.explain()

    # 1. packages: every node has the newest version, and the report says so exactly
    assert_packages_updated(lab, packages, before)
    newest = newest_versions(lab, packages)
    for node in lab.nodes:
        changed = report["nodes"][node]["changed"]
        for pkg in packages:
            assert changed[pkg] == {"before": before[node][pkg], "after": newest[pkg]}, changed

    # 2. what ran on each node at the moment its packages changed (the lab's package log)
    for node in lab.nodes:
        for pkg in packages:
            txs = changing_transactions(lab, node, pkg)
            assert len(txs) == 1, f"{node}: {pkg} changed {len(txs)} times"
        tx = changing_transactions(lab, node, packages[0])[0]
        if method in ("full_stop", "stack_update"):
            assert tx["pacemaker_running"] is False and tx["corosync_running"] is False, tx
        else:
            # the stack keeps running: only the service's package changes under it
            assert tx["pacemaker_running"] is True and tx["corosync_running"] is True, tx
        if method == "rolling_standby":
            assert tx["service_running"] is False, "standby: nothing runs on the node"
    if method == "cluster_maintenance":
        # the node running the service had its package replaced under the running, unmanaged
        # service: the seed's point of method 2 (no failover, no restart)
        tx = changing_transactions(lab, primary, "httpd")[0]
        assert tx["service_running"] is True, tx

    # 3. what a watching admin saw in crm_mon during the run
    if method == "cluster_maintenance":
        assert watch.maintenance_mode_seen()
        assert watch.seen("standby") == []
    if method == "node_maintenance":
        assert watch.seen("maintenance") == sorted(lab.nodes)
        assert not watch.maintenance_mode_seen()
    if method == "rolling_standby":
        assert watch.seen("standby") == sorted(lab.nodes)
        assert not watch.maintenance_mode_seen() and watch.seen("maintenance") == []

    # 4. the end state
    state = end_state(lab, primary if failback == "original" else None)
    assert state.problems == [], state.problems

    # 5. what the service's client saw
    last = probe.records[-1]
    assert last["ok"] and last["version"] == newest.get("httpd", last["version"]), last
    failovers = len(report["failovers"])
    if method == "cluster_maintenance":
        assert figures["failed"] == 0 and figures["switchovers"] == [], figures
        assert figures["nodes_seen"] == [primary], figures
    elif method == "full_stop":
        # the whole cluster stops: an outage is the method; the service comes back
        assert figures["failed"] > 0 and figures["outages"], figures
        assert lab.summary()["resources"]["web"], "service not running after method 1"
        # every node's packages at once (one with-items item per node): each item started
        # before any of them ended, so the outage paid one update, not one per node
        items = [r for r in task_rows(tmp_path)
                 if r["task_id"] == "update" and r["action"] == "pacemaker_update.update_packages"]
        assert sorted(r["item_id"] for r in items) == list(range(lab.node_count)), items
        assert max(r["started_at"] for r in items) < min(r["ended_at"] for r in items), items
    else:
        # the maintenance/standby/stop of a node that runs nothing never touches the service:
        # the client sees exactly the planned failovers (the primary's, and the failback),
        # each no longer than the lab's own standby move
        assert len(figures["switchovers"]) == failovers, (figures, report["failovers"])
        assert len(figures["outages"]) <= failovers, figures
        assert figures["longest_outage"] <= one_switchover_s, (figures, reference)
    if failback == "original" and method != "full_stop":
        assert failovers == 2, report["failovers"]

    timing = [r for r in run_timings(tmp_path) if r["parent"] is None][0]
    inside = action_seconds(tmp_path)
    line = (f"{_id((lab.node_count, lab.frontend, method, failback))}: cli {run.wall:.1f} s, "
            f"run {timing['timing']['wall']:.1f} s, in actions {inside:.1f} s, runner "
            f"{timing['timing']['wall'] - inside:.1f} s "
            f"({100 * (timing['timing']['wall'] - inside) / timing['timing']['wall']:.1f}%), "
            f"process overhead {run.wall - inside:.1f} s; probe: longest outage "
            f"{figures['longest_outage']} s, switchovers {figures['switchovers']} "
            f"(reference {reference:.2f} s)")
    TIMES.append(line)
    print("\n[e2e] " + line)
