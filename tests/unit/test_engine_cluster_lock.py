"""Engine: one update per cluster in a state directory (engine/clusterlock.py).

A second top-level run of a workflow with a `cluster` parameter (not a dry run) is refused
with CLUSTER_BUSY while another run of that cluster is running, paused or interrupted; the
error names the holder and how to resume or cancel it; nothing of the refused run is
recorded or executed. Two CLI processes started at the same instant: exactly one runs.
Uses the clipack fixture's update_cluster look-alike (three logged steps, `seconds` each).
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from pacemaker_update.engine import Engine
from pacemaker_update.engine.control import request_run
from pacemaker_update.errors import RunStateError

PACK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "clipack"))


def make_engine(tmp_path):
    return Engine(PACK, state_dir=str(tmp_path / "state"), user="tester", poll_interval=0.02)


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return handle.read().split("\n")[:-1]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def hold_gate(tmp_path):
    """A file that keeps the fixture's first step running while it exists."""
    gate = str(tmp_path / "hold")
    open(gate, "w").close()
    return gate


def start_in_thread(engine, params, run_id):
    out = {}

    def target():
        out["result"] = engine.start("update_cluster", params, run_id=run_id)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def test_a_second_update_of_a_running_cluster_is_refused_and_names_the_holder(tmp_path):
    first_log, second_log = str(tmp_path / "first"), str(tmp_path / "second")
    gate = hold_gate(tmp_path)
    holder = make_engine(tmp_path)
    run_id = holder.new_run_id()
    thread, out = start_in_thread(
        holder, {"cluster": "c1", "path": first_log, "hold": gate}, run_id)
    try:
        wait_for(lambda: "start a" in read(first_log))
        other = make_engine(tmp_path)
        with pytest.raises(RunStateError) as info:
            other.start("update_cluster", {"cluster": "c1", "path": second_log})
        assert read(first_log) == ["start a"]  # refused while the holder was still in step a
    finally:
        os.remove(gate)
        thread.join()
    err = info.value
    assert err.code == "CLUSTER_BUSY"
    assert err.details["run"] == run_id and err.details["cluster"] == "c1"
    assert err.details["status"] == "running" and err.details["owner_pid"] == os.getpid()
    assert f"pacemaker-update resume {run_id}" in err.hint
    assert f"pacemaker-update cancel {run_id}" in err.hint
    assert read(second_log) == []  # the refused run executed nothing
    assert [r["id"] for r in holder.runs()] == [run_id]  # ... and left no record
    assert out["result"].status == "succeeded"
    # once the holder ended, the cluster is free again
    again = make_engine(tmp_path).start("update_cluster", {"cluster": "c1", "path": second_log})
    assert again.status == "succeeded" and read(second_log)[-1] == "end c"


def test_other_clusters_and_dry_runs_are_not_held(tmp_path):
    gate = hold_gate(tmp_path)
    holder = make_engine(tmp_path)
    log = str(tmp_path / "first")
    run_id = holder.new_run_id()
    thread, out = start_in_thread(holder, {"cluster": "c1", "path": log, "hold": gate}, run_id)
    try:
        wait_for(lambda: "start a" in read(log))
        other = make_engine(tmp_path)
        assert other.start("update_cluster", {"cluster": "c2"}).status == "succeeded"
        plan = other.start("update_cluster", {"cluster": "c1", "dry_run": True})
        assert plan.status == "succeeded"
        # both ran while c1's update was still running (held inside its first step)
        assert read(log) == ["start a"]
        assert [r["status"] for r in holder.runs() if r["id"] == run_id] == ["running"]
    finally:
        os.remove(gate)
        thread.join()
    assert out["result"].status == "succeeded"


def test_a_paused_update_holds_its_cluster_until_it_is_canceled(tmp_path):
    gate = hold_gate(tmp_path)
    engine = make_engine(tmp_path)
    log = str(tmp_path / "first")
    run_id = engine.new_run_id()
    thread, out = start_in_thread(engine, {"cluster": "c1", "path": log, "hold": gate}, run_id)
    try:
        wait_for(lambda: "start a" in read(log))
        engine.request_pause(run_id)
    finally:
        os.remove(gate)
        thread.join()
    assert out["result"].status == "paused"
    with pytest.raises(RunStateError) as info:
        make_engine(tmp_path).start("update_cluster", {"cluster": "c1"})
    assert info.value.code == "CLUSTER_BUSY" and info.value.details["status"] == "paused"
    assert "nobody drives it" in info.value.message
    assert request_run(engine.store, run_id, "cancel") == "canceled"
    assert make_engine(tmp_path).start("update_cluster", {"cluster": "c1"}).status == "succeeded"


def test_an_interrupted_update_holds_its_cluster_and_says_so(tmp_path):
    engine = make_engine(tmp_path)
    run_id = engine.new_run_id()
    done = engine.start("update_cluster", {"cluster": "c1"}, run_id=run_id)
    assert done.status == "succeeded"
    # what a SIGKILLed runner leaves: status running, owner a process that no longer exists
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    engine.store.update_run(run_id, status="running", ended_at=None,
                            owner_pid=int(dead.stdout), owner_start="0")
    with pytest.raises(RunStateError) as info:
        make_engine(tmp_path).start("update_cluster", {"cluster": "c1"})
    assert info.value.code == "CLUSTER_BUSY"
    assert "interrupted" in info.value.message and info.value.details["owner_pid"] is None
    assert f"resume {run_id}" in info.value.hint


def cli(tmp_path, *args):
    return [sys.executable, "-m", "pacemaker_update.cli", *args, "--pack-dir", PACK,
            "--state-dir", str(tmp_path / "state")]


@pytest.mark.parametrize("attempt", range(3))
def test_two_cli_updates_started_at_once_exactly_one_runs(tmp_path, attempt):
    logs = [str(tmp_path / f"log{i}") for i in range(2)]
    go = tmp_path / "go"
    # both processes import everything, then wait for the same file to start together
    starter = (
        "import os, sys, time\n"
        "from pacemaker_update.cli import main\n"
        "from pacemaker_update.engine import Engine  # noqa: F401 - warm imports\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", starter, *cli(tmp_path, "run", "update_cluster", "--cluster",
                                                  "c1", "--no-watch", "--json", "--param",
                                                  f"path={log}", "--param", "seconds=2")[3:]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for log in logs
    ]
    time.sleep(1.5)
    # the winner runs ~6 s: the other process, however slow to reach the cluster lock on a
    # loaded machine, meets it held (with 0.3 s steps a run could end before it arrived)
    go.write_text("")
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    winner = [i for i, r in enumerate(results) if r[2] == 0][0]
    loser = 1 - winner
    refused = json.loads(results[loser][0])["error"]
    ran = json.loads(results[winner][0])
    assert refused["code"] == "CLUSTER_BUSY" and refused["details"]["run"] == ran["run_id"]
    assert read(logs[winner]) == ["start a", "end a", "start b", "end b", "start c", "end c"]
    assert read(logs[loser]) == []
    rc = subprocess.run(cli(tmp_path, "history", "--json"), capture_output=True, text=True)
    assert [r["id"] for r in json.loads(rc.stdout)] == [ran["run_id"]]
