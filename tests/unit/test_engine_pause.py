"""Engine: an action's data.pause_requested pauses the top-level run like `pause`; the cause
is kept in the run record; request_pause from another thread; ActionService.list_values."""

import os
import threading

import pytest
from pacemaker_update.engine import Engine, RunStore
from pacemaker_update.errors import RunStateError

PACK = os.path.join(os.path.dirname(__file__), "..", "fixtures", "clipack")


@pytest.fixture
def engine(tmp_path):
    return Engine(PACK, state_dir=str(tmp_path / "state"), user="tester", poll_interval=0.02)


def lines(path):
    with open(path) as handle:
        return handle.read().split("\n")[:-1]


def test_pause_requested_by_an_action_pauses_at_the_next_task_and_resume_rechecks(
        engine, tmp_path):
    log, flag = str(tmp_path / "log"), str(tmp_path / "open")
    result = engine.start("gated", {"path": log, "open_flag": flag})
    assert result.status == "paused" and result.exit_code == 3
    assert lines(log) == ["start a", "end a"]  # c never started
    cause = result.pause_cause
    assert cause["kind"] == "pause_requested" and cause["task_id"] == "gate"
    assert cause["code"] == "OUTSIDE_WINDOW" and "no maintenance window" in cause["message"]
    assert result.to_dict()["pause_cause"] == cause
    assert engine.store.get_run(result.run_id)["pause_cause"] == cause
    gates = [t for t in engine.store.list_tasks(result.run_id) if t["task_id"] == "gate"]
    assert [t["status"] for t in gates] == ["failed"]  # the loop-back did not run on
    with open(flag, "w"):
        pass
    resumed = engine.resume(result.run_id)
    assert resumed.status == "succeeded" and resumed.pause_cause is None
    assert lines(log) == ["start a", "end a", "start c", "end c"]
    assert engine.store.get_run(result.run_id)["pause_cause"] is None


def test_a_run_paused_twice_by_the_gate_stays_paused_until_the_window_opens(engine, tmp_path):
    log, flag = str(tmp_path / "log"), str(tmp_path / "open")
    first = engine.start("gated", {"path": log, "open_flag": flag})
    again = engine.resume(first.run_id)
    assert again.status == "paused" and again.pause_cause["task_id"] == "gate"
    assert lines(log) == ["start a", "end a"]


def run_stopped_mid_step(engine, tmp_path, stop):
    """update_cluster (clipack) with its first step held on a gate file until ``stop(run_id)``
    (run from another thread once the step has started) has returned: the requests land
    while the step runs, whatever the machine's load."""
    log = str(tmp_path / "log")
    gate = str(tmp_path / "hold")
    open(gate, "w").close()
    run_id = engine.new_run_id()

    def stop_when_started():
        try:
            while not os.path.exists(log):
                threading.Event().wait(0.02)
            stop(run_id)
        finally:
            os.remove(gate)

    thread = threading.Thread(target=stop_when_started)
    thread.start()
    result = engine.start("update_cluster", {"cluster": "c1", "path": log, "hold": gate},
                          run_id=run_id)
    thread.join()
    assert result.run_id == run_id and result.status == "paused"
    assert lines(log) == ["start a", "end a"]
    return result


def test_request_pause_from_another_thread_records_the_cause(engine, tmp_path):
    cause = {"kind": "unexpected_failover", "message": "vip stopped on n1"}

    def pause(run_id):
        assert engine.request_pause(run_id, cause=cause) == "requested"
        # a second reason while the pause is pending does not replace the first
        engine.request_pause(run_id, cause={"kind": "other", "message": "later"})

    result = run_stopped_mid_step(engine, tmp_path, pause)
    assert result.pause_cause == cause
    store = RunStore(engine.state_dir)
    assert store.get_run(result.run_id)["pause_cause"] == cause
    with pytest.raises(RunStateError):
        engine.request_pause("nosuchrun")


@pytest.mark.parametrize("watcher_first", [False, True], ids=["signal-alone", "watcher-first"])
def test_a_signal_pause_records_its_cause_unless_the_run_has_one(engine, tmp_path,
                                                                  watcher_first):
    import signal

    cause = {"kind": "unexpected_failover", "message": "vip stopped on n1"}

    def stop(run_id):
        if watcher_first:
            engine.request_pause(run_id, cause=cause)
        engine.stop_signal = signal.SIGHUP  # what the handler does (the CLI tests send it)
        engine.stop_event.set()

    result = run_stopped_mid_step(engine, tmp_path, stop)
    if watcher_first:  # the first reason wins: the failover, not the hangup after it
        assert result.pause_cause == cause
    else:
        assert result.pause_cause["kind"] == "signal"
        assert result.pause_cause["signal"] == "SIGHUP"
        assert "went away" in result.pause_cause["message"]


def test_list_values_lists_local_keys_by_literal_prefix(engine):
    result = engine.start("kvflow", {"prefix": "led_x."})
    found = result.output["found"]
    assert found["names"] == ["clipack:led_x.a", "clipack:led_x.b"]
    assert found["values"] == ["1", "2"]
    assert found["all"] == 3  # local=False, no prefix: every key
    engine.store.kv_set("clipack:ledAx.z", "not under led_x.")  # '_' is not a wildcard
    assert sorted(engine.store.kv_list("clipack:led_x.")) == ["clipack:led_x.a",
                                                               "clipack:led_x.b"]


def test_an_old_run_store_gets_the_pause_cause_column(tmp_path):
    import sqlite3

    state = tmp_path / "old"
    state.mkdir()
    db = sqlite3.connect(str(state / "runs.sqlite"))
    db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, parent_id TEXT, root_id TEXT, "
               "workflow TEXT NOT NULL, params TEXT, status TEXT NOT NULL, requester TEXT, "
               "created_at REAL, started_at REAL, ended_at REAL, updated_at REAL, result TEXT, "
               "errors TEXT, conductor TEXT, request TEXT, owner_pid INTEGER, owner_start TEXT, "
               "timing TEXT, secrets TEXT)")
    db.execute("INSERT INTO runs (id, workflow, status) VALUES ('r1', 'x', 'succeeded')")
    db.commit()
    db.close()
    store = RunStore(str(state))
    assert store.get_run("r1")["pause_cause"] is None
    RunStore(str(state))  # opening again is fine
