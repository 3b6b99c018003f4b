"""The primary crashes while the run has the secondary in standby for its update (lab,
2 nodes, crmsh, method 4 rolling_standby through `pacemaker-update run update_cluster`
with its failover watcher, as a user runs it).

The run must pause (an unexpected node loss) and must not leave the service down when it
can be recovered: the secondary, put in standby by this run, is the only node left that
can run the service, so the run brings it back online (recorded in the expected-moves
ledger) and Pacemaker starts the service there; the run stays paused and its pause cause
says what was done and where every node is. Never two nodes out of service, the crashed
primary never touched (docs/RELIABILITY.md, rel:recovery).

The secondary's package transaction is made slow (lab slow-next-update) so the crash
lands while it runs and the watcher's pause takes effect before the run's own `online`:
without that, a fast update and `online` can win the race and hide the gap. When the
transaction outlasts the update step (its timeout), the node is mid-install: it must stay
in standby and the run must say so.

A failure here is user-visible: the service stays down until a person acts.
"""
from __future__ import annotations

import json
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import CrmWatch, two_node_crmsh_lab  # noqa: E402, F401 - the lab fixture
from test_cluster_faults import assert_safe_end, finish, node_states, start, wait_task  # noqa: E402

pytestmark = [pytest.mark.lab]


def serving_node(lab: Any) -> str | None:
    """The node that answers an HTTP GET of the VIP now, as a client sees it (None: down)."""
    try:
        with urllib.request.urlopen(f"http://{lab.vip}/", timeout=2) as answer:  # noqa: S310
            return str(json.loads(answer.read().decode())["node"])
    except (OSError, ValueError):
        return None


def ledger_entries(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The expected-moves entries in the run store (what the watchers read)."""
    con = sqlite3.connect(f"file:{state_dir / 'runs.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT key, value FROM kv WHERE key LIKE '%ledger%'").fetchall()
    finally:
        con.close()
    out = {}
    for key, value in rows:
        data = json.loads(value)
        out[key] = json.loads(data) if isinstance(data, str) else data
    return out


def test_service_is_recovered_on_the_secondary_when_the_primary_crashes(
        lab: Any, tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    lab.slow_next_update(secondary, 20)  # < update_timeout (30 s): it completes
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        wait_task(tmp_path, proc, "update")
        assert lab.summary()["nodes"][secondary]["standby"] == "true"
        lab.crash(primary)
        doc = finish(proc, tmp_path)
        time.sleep(2)  # a few more crm_mon samples after the run rested
    try:
        now = assert_safe_end(lab, doc, watch, tmp_path, allowed=("paused",))
        # the service runs again, on the only node left, and a client reaches it
        assert now["resources"].get("web") == [secondary], (
            f"the service is left down though {secondary} could run it: crm_mon {now}; "
            f"pause cause {json.dumps(doc.get('pause_cause'))[:1500]}")
        assert serving_node(lab) == secondary, "the VIP does not answer from the secondary"
        assert now["nodes"][secondary].get("standby") != "true"
        # the run stays paused and says what it did and where every node is
        cause = doc.get("pause_cause") or {}
        recovery = cause.get("recovery") or {}
        assert recovery.get("action") == "online" and recovery.get("done") is True, cause
        assert recovery.get("node") == secondary
        assert recovery.get("package_step") in ("not started", "completed"), recovery
        assert f"{secondary} brought back online" in cause.get("message", "")
        assert set(recovery.get("nodes") or {}) == set(lab.nodes), recovery
        assert recovery["nodes"][primary].startswith("OFFLINE")
        assert node_states(doc)[secondary].startswith("online")
        assert "standby" not in node_states(doc)[secondary]
        # announced in the ledger before, closed after
        entry = [v for k, v in ledger_entries(tmp_path).items()
                 if k.endswith(f"{doc['run_id']}.recover_online_{secondary}")]
        assert entry and entry[0]["operation"] == "unstandby", ledger_entries(tmp_path)
        assert entry[0]["closed_at"] is not None
        # the crashed primary was never taken out nor updated by the pack
        assert primary not in watch.seen("standby")
        assert not [t for t in lab.package_log(primary) if t["ok"] and t["changed"]]
    finally:
        lab.poweron(primary)


def test_a_node_mid_install_stays_in_standby_and_the_run_says_so(
        lab: Any, tmp_path: Path) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]
    lab.slow_next_update(secondary, 75)  # > update_timeout (30 s): still installing after it
    with CrmWatch(lab) as watch:
        proc = start(lab, tmp_path)
        wait_task(tmp_path, proc, "update")
        lab.crash(primary)
        doc = finish(proc, tmp_path)
        ended = time.time()
    try:
        assert_safe_end(lab, doc, watch, tmp_path)
        # never brought back (after the run put it in standby) while its transaction may
        # still run
        standby_at = min(ts for ts, s in watch.samples
                         if s["nodes"][secondary].get("standby") == "true")
        back = [ts for ts, s in watch.samples if standby_at < ts < ended
                and s["nodes"][secondary].get("standby") != "true"
                and s["nodes"][secondary].get("online") == "true"]
        log = [t for t in lab.package_log(secondary) if t["changed"] or not t["ok"]]
        done_at = min([t["ts"] for t in log], default=None)
        early = [ts for ts in back if done_at is None or ts < done_at]
        assert not early, f"SAFETY: {secondary} brought online mid-install at {early[:3]}"
        if doc["status"] == "paused":
            cause = doc.get("pause_cause") or {}
            recovery = cause.get("recovery") or {}
            assert recovery.get("action") == "blocked", cause
            assert "NOT done" in cause.get("message", "") and "install" in cause["message"]
        print(f"\n[primary-crash] mid-install run {doc['status']}; states {node_states(doc)}")
    finally:
        # the slow transaction goes on after the run rested: let it end before the next
        # test resets the package DBs
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not [
                t for t in lab.package_log(secondary) if t["changed"]]:
            time.sleep(1)
        lab.poweron(primary)
