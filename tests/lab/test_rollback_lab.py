"""`pacemaker-update run rollback` on the real lab with its failover watcher (the default):
the rollback's own moves are announced in the expected-moves ledger, so its watcher does
not pause it, and its end is rendered like an update's (report_markdown).

Without the ledger wiring the rollback's `online` of a node its watcher did not expect
(node_unstandby, the ping clone instance starting there) is judged by the watcher alone.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import CLI, CrmWatch, run_cli, two_node_crmsh_lab  # noqa: F401 - lab

pytestmark = [pytest.mark.lab]


def ledger(state_dir: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's expected-moves entries in the run store, by step."""
    con = sqlite3.connect(f"file:{state_dir / 'runs.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT key, value FROM kv WHERE key LIKE ?",
                           (f"%ledger%{run_id}.%",)).fetchall()
    finally:
        con.close()
    out = {}
    for _, value in rows:
        data = json.loads(value)
        entry = json.loads(data) if isinstance(data, str) else data
        out[entry["step"]] = entry
    return out


def test_rollback_brings_a_standby_node_back_without_pausing_itself(lab: Any,
                                                                    tmp_path: Path) -> None:
    res = lab.exec("server2", ["crm", "node", "standby", "server2"])
    assert res.returncode == 0, res.stderr
    deadline = time.monotonic() + 60
    while lab.summary()["nodes"]["server2"].get("standby") != "true":
        assert time.monotonic() < deadline, "server2 never showed standby"
        time.sleep(0.5)
    time.sleep(2)
    argv = [str(CLI), "run", "rollback", "--config", str(lab.config_path), "--cluster", "lab",
            "--state-dir", str(tmp_path), "--yes", "--json", "--watch-interval", "1"]
    with CrmWatch(lab) as watch:
        run = run_cli(argv, timeout=300)
    doc = run.doc or {}
    assert run.rc == 0 and doc.get("status") == "succeeded", run.explain()
    assert "UNEXPECTED" not in run.stderr, run.stderr[-3000:]
    output = doc["output"]
    assert output["report"]["status"] == "succeeded"
    assert output["report_markdown"].startswith("**rollback on lab: succeeded**")
    now = lab.summary()
    assert all(a.get("standby") != "true" for a in now["nodes"].values()), now
    assert now["resources"]["web"] == ["server1"]  # nothing moved that needed not
    assert "server1" not in watch.seen("standby")
    entries = ledger(tmp_path, doc["run_id"])
    assert {"start_pacemaker_server2", "node_ready_server2", "unstandby_server2",
            "cluster_ready"} <= set(entries), sorted(entries)
    assert all(e["closed_at"] is not None for e in entries.values()), entries


def test_rollback_moves_the_service_back_to_the_snapshot_without_pausing_itself(
        lab: Any, tmp_path: Path) -> None:
    import importlib.util

    import yaml
    spec = importlib.util.spec_from_file_location(
        "rb_snapshot_state", Path(__file__).resolve().parents[2] / "actions" / "snapshot_state.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = yaml.safe_load(lab.config_path.read_text())
    ok, out = module.SnapshotState(config=config).run(cluster="lab")
    assert ok, out
    snapshot = out["data"]["snapshot"]
    lab.move("web-group", "server2")  # by hand: where a failed update may have left it
    assert lab.exec("server1", ["crm_resource", "--clear", "-r", "web-group"]).returncode == 0
    lab.wait_settled(service_node="server2")
    (tmp_path / "params.json").write_text(json.dumps({"snapshot": snapshot}))
    argv = [str(CLI), "run", "rollback", "--config", str(lab.config_path), "--cluster", "lab",
            "--state-dir", str(tmp_path), "--yes", "--json", "--watch-interval", "1",
            "--params-json", str(tmp_path / "params.json")]
    run = run_cli(argv, timeout=300)
    doc = run.doc or {}
    assert run.rc == 0 and doc.get("status") == "succeeded", run.explain()
    assert "UNEXPECTED" not in run.stderr, run.stderr[-3000:]
    assert lab.summary()["resources"]["web"] == ["server1"]
    assert doc["output"]["report"]["failovers"][0]["kind"] == "failback"
    entries = ledger(tmp_path, doc["run_id"])
    assert entries["cluster_restore"]["operation"] == "cluster_restore"
    assert all(e["closed_at"] is not None for e in entries.values()), entries
