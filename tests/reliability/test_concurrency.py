"""Concurrency on the real lab: two `pacemaker-update run update_cluster` processes for the
same cluster and state directory, released at the same instant -> exactly one runs.

The loser exits 2 with CLUSTER_BUSY naming the winner's run (and how to resume/cancel it)
and touches nothing; the winner updates every node, each node's httpd changes exactly once,
and the cluster ends healthy. The lock itself is unit-tested in
tests/unit/test_engine_cluster_lock.py; this is the proof on a real cluster, with the
failover watchers of both processes on.
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
from e2e_support import (  # noqa: E402, F401 - two_node_crmsh_lab: the lab fixture
    cli_argv,
    end_state,
    run_timings,
    two_node_crmsh_lab,
)

pytestmark = [pytest.mark.lab]


def test_two_updates_of_one_cluster_at_once_exactly_one_runs(lab: Any, tmp_path: Path) -> None:
    go = tmp_path / "go"
    argv = cli_argv(lab, tmp_path, "rolling_standby", ["httpd"], failback="none")
    # both processes import everything first, then start together when `go` appears
    starter = ("import os, sys, time\n"
               "from pacemaker_update.cli import main\n"
               "import pacemaker_update.engine  # noqa: F401\n"
               f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
               "sys.exit(main(sys.argv[1:]))\n")
    python = Path(argv[0]).parent / "python"
    procs = [subprocess.Popen([str(python), "-c", starter, *argv[1:]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONUNBUFFERED="1")) for _ in range(2)]
    time.sleep(3)
    go.write_text("")
    results = [(*p.communicate(timeout=600), p.returncode) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], [(r[2], r[1][-1500:]) for r in results]
    winner = next(r for r in results if r[2] == 0)
    loser = next(r for r in results if r[2] == 2)
    ran = json.loads(winner[0])
    error = json.loads(loser[0])["error"]
    assert error["code"] == "CLUSTER_BUSY", error
    assert error["details"]["run"] == ran["run_id"] and error["details"]["cluster"] == "lab"
    assert f"resume {ran['run_id']}" in error["hint"] and f"cancel {ran['run_id']}" in error["hint"]
    assert ran["output"]["report"]["status"] == "succeeded"
    # exactly one run in the store, and exactly one update of each node
    assert [r["id"] for r in run_timings(tmp_path) if r["parent"] is None] == [ran["run_id"]]
    for node in lab.nodes:
        changes = [t for t in lab.package_log(node) if t["ok"] and "httpd" in t["changed"]]
        assert len(changes) == 1, (node, changes)
    assert end_state(lab).problems == []
