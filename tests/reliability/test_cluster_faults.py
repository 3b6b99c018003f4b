"""Cluster faults in the middle of a real update (lab, 2 nodes, crmsh, method 4 rolling_standby,
`pacemaker-update run update_cluster` as a subprocess with its failover watcher, as a user
runs it). The fault is injected when the run store and crm_mon say the update reached the
right point:

- the primary crashes while the secondary is in standby;
- the network to the secondary drops while its package update runs;
- the package update fails (lab fail-next-update);
- the service dies on the freshly updated node right after the failover to it;
- the DC changes (pacemaker-controld of the DC killed: a new election) mid-update.

Each must end with the run paused or failed (a DC change may also end succeeded) and:
- never two nodes out of service by the pack's doing (crm_mon polled all along: never two
  nodes in standby/maintenance at once, the pack never takes out a node after a fault);
- never maintenance-mode left on (this method never sets it);
- a report that says where every node is (consistent with crm_mon: a node crm_mon shows in
  standby is reported in standby) and what to do next (resume/rollback command).
A failure of one of these is a safety bug: the assertion message says which property.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from e2e_support import CLI, CrmWatch, cli_argv, end_state, root_run_id, task_rows  # noqa: E402

pytestmark = [pytest.mark.lab]

METHOD = "rolling_standby"
# short timeouts: a fault must end the run in seconds, not after the 540 s default
PARAMS = {"failback": "none", "wait_timeout": 45, "update_timeout": 30, "settle_timeout": 45}


@pytest.fixture
def lab(lab_factory: Any) -> Any:
    handle = lab_factory(2, "crmsh", False)
    handle.reset()
    return handle


def start(lab: Any, state_dir: Path) -> subprocess.Popen[str]:
    """The update in the background (stdout: its JSON document, stderr: progress)."""
    argv = cli_argv(lab, state_dir, METHOD, ["httpd"], **PARAMS)
    return subprocess.Popen(argv, stdout=open(state_dir / "out.json", "w"),  # noqa: SIM115
                            stderr=open(state_dir / "err.log", "w"), text=True)  # noqa: SIM115


def wait_task(state_dir: Path, proc: Any, task: str, status: str | None = None,
              occurrence: int = 1, timeout: float = 240) -> None:
    """Until the `occurrence`-th `task` row exists (and has `status`, when given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in task_rows(state_dir) if r["task_id"] == task]
        if len(rows) >= occurrence and status in (None, rows[occurrence - 1]["status"]):
            return
        assert proc.poll() is None, f"the run ended before {task} ({status})"
        time.sleep(0.03)
    raise AssertionError(f"{task} never reached {status} in {timeout} s")


def finish(proc: Any, state_dir: Path, timeout: float = 300) -> dict[str, Any]:
    """The run's JSON document once it rests."""
    proc.wait(timeout=timeout)
    text = (state_dir / "out.json").read_text()
    assert text.strip(), (state_dir / "err.log").read_text()[-3000:]
    doc: dict[str, Any] = json.loads(text)
    doc["_rc"] = proc.returncode
    return doc


def show(lab: Any, state_dir: Path, run_id: str, *extra: str) -> dict[str, Any]:
    """`pacemaker-update show RUN --json [extra...]`."""
    res = subprocess.run([str(CLI), "show", run_id, "--state-dir", str(state_dir), "--json",
                          *extra], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def node_states(doc: dict[str, Any]) -> dict[str, str]:
    """Where the run says every node is: report.nodes[*].state (failed/finished runs), the
    failure's node_states, or cluster_now (what crm_mon showed when the run stopped)."""
    report = (doc.get("output") or {}).get("report") or {}
    states = {n: str(v.get("state")) for n, v in (report.get("nodes") or {}).items()
              if isinstance(v, dict) and v.get("state") is not None}
    failure = report.get("failure") or {}
    for n, s in (failure.get("node_states") or {}).items():
        states.setdefault(n, str(s))
    # A run that stopped early also says where the cluster stands now (crm_mon, read by the
    # CLI when the run ended): `cluster_now.nodes`, e.g. "online + standby".
    for n, s in ((doc.get("cluster_now") or {}).get("nodes") or {}).items():
        states.setdefault(n, str(s))
    return states


def out_of_service(sample: dict[str, Any]) -> list[str]:
    """Nodes the pack took out in one crm_mon sample (standby or node maintenance)."""
    return sorted(n for n, a in sample["nodes"].items()
                  if a.get("standby") == "true" or a.get("maintenance") == "true")


def dump(lab: Any, doc: dict[str, Any], watch: CrmWatch, state_dir: Path,
         now: dict[str, Any]) -> None:
    """Opt-in (PMU_FAULTS_DUMP=DIR): what a user sees at the end of the scenario, written to
    DIR/<test>.json before any assertion: the run's --json document, `show RUN --json`, its
    stderr (the text a person reads), crm_mon at the end and the nodes crm_mon showed out of
    service all along. Nothing is asserted here."""
    where = os.environ.get("PMU_FAULTS_DUMP")
    if not where:
        return
    try:
        shown: Any = show(lab, state_dir, doc["run_id"])
    except Exception as exc:  # noqa: BLE001 - a dump, never a verdict
        shown = {"error": repr(exc)}
    record = {"doc": doc, "show": shown, "stderr": (state_dir / "err.log").read_text()[-6000:],
              "crm_mon_end": now, "dc_end": now.get("dc"),
              "out_of_service_seen": sorted({tuple(out_of_service(s)) for _, s in watch.samples}),
              "maintenance_mode_seen": watch.maintenance_mode_seen(),
              "service_nodes": watch.service_nodes(), "samples": len(watch.samples)}
    Path(where).mkdir(parents=True, exist_ok=True)
    name = os.environ.get("PYTEST_CURRENT_TEST", state_dir.name).split("::")[-1].split(" ")[0]
    (Path(where) / f"{name}.json").write_text(json.dumps(record, indent=1, default=str))


def assert_safe_end(lab: Any, doc: dict[str, Any], watch: CrmWatch, state_dir: Path,
                    allowed: tuple[str, ...] = ("paused", "failed")) -> dict[str, Any]:
    """The properties every fault scenario must keep; returns crm_mon's digest at the end."""
    status = doc.get("status")
    assert status in allowed, f"run ended {status}, want one of {allowed}: {json.dumps(doc)[:2000]}"
    two = [(ts, out_of_service(s)) for ts, s in watch.samples if len(out_of_service(s)) > 1]
    assert not two, f"SAFETY: two nodes out of service at once: {two[:3]}"
    assert not watch.maintenance_mode_seen(), "SAFETY: maintenance-mode was switched on"
    now = lab.summary()
    dump(lab, doc, watch, state_dir, now)
    report = (doc.get("output") or {}).get("report") or {}
    failure = {k: (report.get("failure") or {}).get(k) for k in ("node", "step", "code", "next")}
    print(f"\n[faults] run {status}; pause_cause "
          f"{(doc.get('pause_cause') or {}).get('message')}; failure {json.dumps(failure)}; "
          f"report states {node_states(doc)}; crm_mon "
          f"{ {n: (a.get('online'), a.get('standby')) for n, a in now['nodes'].items()} } "
          f"web {now['resources'].get('web')} maintenance-mode {now['maintenance_mode']}")
    assert not now["maintenance_mode"], "SAFETY: maintenance-mode left on"
    if status == "succeeded":
        return now
    states = node_states(doc)
    text = json.dumps(doc)
    if status == "paused":  # the run's JSON, else `show RUN --json`
        shown = show(lab, state_dir, doc["run_id"])
        states = states or node_states(shown)
        text += json.dumps(shown)
    out = {n: a.get("standby") == "true" and "standby" or a.get("online") != "true"
           and "offline" or "online" for n, a in now["nodes"].items()}
    missing = [n for n in lab.nodes if n not in states]
    assert not missing, (f"SAFETY: the {status} run (--json and show --json) does not say "
                         f"where {missing} are; crm_mon: {out}; pause_cause: "
                         f"{json.dumps(doc.get('pause_cause'))[:300]}")
    for node, where in out.items():
        if where == "standby":
            assert "standby" in states[node], (
                f"SAFETY: {node} is in standby but the report says {states[node]!r}")
    if status == "paused":
        assert f"resume {doc['run_id']}" in text, (
            f"the paused run's JSON says nothing to do next: {text[:800]}")
    else:
        next_step = ((doc.get("output") or {}).get("report") or {}).get("failure", {}).get("next")
        assert next_step, f"the failure report says nothing to do next: {text[:1500]}"
    return now


def test_primary_crashes_while_the_secondary_is_in_standby(lab: Any, tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        wait_task(tmp_path, proc, "standby", "succeeded")
        assert lab.summary()["nodes"][secondary]["standby"] == "true"
        lab.crash(primary)
        doc = finish(proc, tmp_path)
    try:
        now = assert_safe_end(lab, doc, watch, tmp_path)
        assert now["nodes"][primary].get("online") != "true"
        # nothing after the crash: the primary was never taken out nor updated by the pack
        assert primary not in watch.seen("standby")
        assert not [t for t in lab.package_log(primary) if t["ok"] and t["changed"]]
    finally:
        lab.poweron(primary)


def test_network_to_the_secondary_drops_during_its_package_update(lab: Any,
                                                                   tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        wait_task(tmp_path, proc, "update")
        lab.netcut(secondary)
        try:
            doc = finish(proc, tmp_path)
        finally:
            lab.netrestore(secondary)
    now = assert_safe_end(lab, doc, watch, tmp_path)
    # the service never left the primary and the primary was never touched
    assert now["resources"]["web"] == [primary]
    assert primary not in watch.seen("standby")
    assert not [t for t in lab.package_log(primary) if t["changed"]]


def test_package_update_fails(lab: Any, tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    lab.fail_next_update(secondary)
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        doc = finish(proc, tmp_path)
    now = assert_safe_end(lab, doc, watch, tmp_path, allowed=("failed",))
    failure = doc["output"]["report"]["failure"]
    assert failure["node"] == secondary and "update" in failure["step"], failure
    assert lab.package_db(secondary)["httpd"].startswith("2.4.57")
    assert now["resources"]["web"] == [primary]
    assert primary not in watch.seen("standby")
    # the run has ended: what to run next is a rollback, never `resume` (refused: finished)
    steps = doc["cluster_now"]["next"]
    assert steps and steps[0].startswith("pacemaker-update run rollback --cluster")
    assert not any("resume" in step for step in steps), steps
    # and `show RUN` says the same to whoever lost the run's output
    assert show(lab, tmp_path, doc["run_id"])["next"] == steps
    # with --cluster-now it also reads where every node is now: nothing moved since the run
    # ended, so the same standing the run printed, read again from the live cluster
    shown = show(lab, tmp_path, doc["run_id"], "--cluster-now", "--config",
                 str(lab.config_path))["cluster_now"]
    assert "error" not in shown, shown
    assert shown["nodes"] == doc["cluster_now"]["nodes"]
    assert shown["placement"] == doc["cluster_now"]["placement"]
    assert shown["next"] == steps


def test_service_dies_on_the_updated_node_after_failover(lab: Any, tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    # the primary's own package update (after its standby moved web) takes 20 s: the
    # service dies on the updated secondary while the update is still underway
    lab.slow_next_update(primary, 20)
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        # method 4: the primary's own standby (the second node's turn) is its failover
        wait_task(tmp_path, proc, "standby", "succeeded", occurrence=2)
        # the standby is verified once nothing runs on the primary; web may still be
        # starting on the secondary (method 4 has no separate failover verification)
        deadline = time.monotonic() + 60
        while lab.summary()["resources"]["web"] != [secondary]:
            assert time.monotonic() < deadline, "web never started on the secondary"
            time.sleep(0.2)
        lab.kill_service(secondary)
        doc = finish(proc, tmp_path)
    assert_safe_end(lab, doc, watch, tmp_path)
    run_id = root_run_id(tmp_path)
    assert run_id == doc["run_id"]


def test_dc_changes_mid_update(lab: Any, tmp_path: Path) -> None:
    dc = lab.summary()["dc"]
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        wait_task(tmp_path, proc, "standby", "succeeded")
        res = lab.exec(dc, ["pkill", "-KILL", "-x", "pacemaker-contr"])
        assert res.returncode == 0, res.stderr
        doc = finish(proc, tmp_path)
    now = assert_safe_end(lab, doc, watch, tmp_path, allowed=("paused", "failed", "succeeded"))
    if doc["status"] == "succeeded":
        assert end_state(lab).problems == []
    print(f"\n[faults] DC {dc} -> {now.get('dc')}; run {doc['status']}")
