"""The pacemaker-update CLI across processes: exit codes, pause/resume, kill, cancel."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pacemaker_update import cli
from pacemaker_update.engine import RunStore

PACK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "enginepack"))


def base(state):
    return ["--pack-dir", PACK, "--state-dir", str(state)]


def spawn(state, *args):
    cmd = [sys.executable, "-m", "pacemaker_update.cli"] + list(args) + base(state)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def call(state, *args):
    proc = spawn(state, *args)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def wait_for(path, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as handle:
                if text in handle.read():
                    return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def the_run(state):
    rc, out, _ = call(state, "history", "--json")
    assert rc == 0
    return json.loads(out)[0]["id"]


def lines(path):
    return open(path).read().split("\n")[:-1]


def test_run_json_and_exit_code(tmp_path):
    rc, out, err = call(tmp_path, "run", "linear", "--param", "message=hi", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["status"] == "succeeded" and data["output"]["echoed"] == "hi hi"
    assert "ok      first enginepack.echo_py" in err  # timestamped progress lines


@pytest.mark.parametrize(
    "args, message",
    [
        (["--param", "bogus=1", "--param", "message=x"], "Unknown parameter(s) bogus"),
        (["--param", "message=x", "--param", "times=two"], "is not of type 'integer'"),
        ([], "'message' is a required property"),
        (["--param", "message"], "--param wants K=V"),
    ],
)
def test_invalid_input_exits_2_before_anything_runs(tmp_path, args, message):
    rc, out, err = call(tmp_path, "run", "linear", *args)
    assert rc == 2 and message in err
    rc, out, _ = call(tmp_path, "history", "--json")
    assert json.loads(out) == []


def test_plan_needs_a_dry_run_parameter_and_watch_needs_a_cluster(tmp_path, capsys):
    rc, _, err = call(tmp_path, "plan", "linear", "--param", "message=x")
    assert rc == 2 and "no dry_run parameter" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["watch"])
    assert exc.value.code == 2 and "--cluster" in capsys.readouterr().err


@pytest.mark.slow
def test_pause_from_another_process_then_resume(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    # `a` runs until released: the pause command (a new Python process) lands while it
    # runs, however loaded the machine
    proc = spawn(tmp_path, "run", "slow", "--param", "path=" + log, "--param", "seconds=0",
                 "--param", f"hold={hold}")
    wait_for(log, "start a")
    run_id = RunStore(str(tmp_path)).list_runs(1)[0]["id"]  # in-process: no startup delay
    rc, out, _ = call(tmp_path, "pause", run_id)
    assert rc == 0 and "requested" in out
    hold.write_text("a b c")
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert lines(log) == ["start a", "end a"]  # the running action finished, nothing more
    rc, out, _ = call(tmp_path, "status", run_id, "--json")
    assert json.loads(out)["status"] == "paused"
    rc, out, err = call(tmp_path, "resume", run_id, "--json")
    assert rc == 0, err
    assert lines(log) == ["start a", "end a", "start b", "end b", "start c", "end c"]


@pytest.mark.slow
def test_sigkill_mid_action_then_resume_reruns_only_that_action(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    # `a` is released at once, `b` never by this process: the kill always lands inside b
    # (a fixed sleep could end before a slow `resume` process had even started)
    hold.write_text("a")
    proc = spawn(tmp_path, "run", "slow", "--param", "path=" + log, "--param", "seconds=0",
                 "--param", f"hold={hold}")
    wait_for(log, "start b")
    run_id = the_run(tmp_path)
    rc, _, err = call(tmp_path, "resume", run_id)  # the live owner keeps its run
    assert rc == 2 and "RUN_LOCKED" in err
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    rc, out, err = call(tmp_path, "show", run_id, "--json")
    assert [r["task_id"] for r in json.loads(out)["inflight"]] == ["b"]
    hold.write_text("a b c")
    rc, out, err = call(tmp_path, "resume", run_id)
    assert rc == 0, err
    assert lines(log) == ["start a", "end a", "start b", "start b", "end b", "start c", "end c"]


@pytest.mark.slow
def test_sigterm_pauses_gracefully(tmp_path):
    log = str(tmp_path / "log")
    proc = spawn(tmp_path, "run", "slow", "--param", "path=" + log, "--param", "seconds=3")
    wait_for(log, "start a")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert lines(log) == ["start a", "end a"]
    assert "paused by signal: SIGTERM: asked to stop" in out
    rc, out, _ = call(tmp_path, "show", the_run(tmp_path), "--json")
    assert json.loads(out)["pause_cause"]["signal"] == "SIGTERM"
    rc, out, _ = call(tmp_path, "status")  # the active runs, each paused one with its cause
    assert rc == 0 and "\n  paused by signal: SIGTERM: asked to stop" in out


@pytest.mark.slow
def test_cancel_running_and_paused_runs(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    # `a` runs until released: the cancel (a new Python process, slow to start on a loaded
    # machine) always lands while it runs
    proc = spawn(tmp_path, "run", "slow", "--param", "path=" + log, "--param", "seconds=0",
                 "--param", f"hold={hold}")
    wait_for(log, "start a")
    rc, _, _ = call(tmp_path, "cancel", the_run(tmp_path))
    hold.write_text("a b c")
    proc.communicate(timeout=60)
    assert rc == 0 and proc.returncode == 4
    assert lines(log) == ["start a", "end a"]
    rc, out, _ = call(tmp_path, "run", "ask")
    assert rc == 3 and "resume with" in out
    run_id = the_run(tmp_path)
    rc, out, _ = call(tmp_path, "cancel", run_id)
    assert rc == 0 and "canceled" in out
    rc, _, err = call(tmp_path, "resume", run_id)
    assert rc == 2 and "already canceled" in err


def test_inquiry_paused_then_answered_from_the_cli(tmp_path):
    rc, _, err = call(tmp_path, "run", "ask")
    assert rc == 3 and "waiting for a response" in err
    run_id = the_run(tmp_path)
    rc, _, err = call(tmp_path, "resume", run_id, "--respond", "not json")
    assert rc == 2 and "--respond is not JSON" in err
    rc, out, err = call(tmp_path, "resume", run_id, "--respond", '{"approved": true}', "--json")
    assert rc == 0, err
    assert json.loads(out)["output"]["decision"] == "approved"
    rc, out, _ = call(tmp_path, "run", "ask", "--yes", "--json")
    assert rc == 0 and json.loads(out)["output"]["decision"] == "approved"


def test_failed_run_exit_1_and_show(tmp_path):
    rc, out, _ = call(tmp_path, "run", "parent", "--param", "fail_child=true")
    assert rc == 1
    run_id = the_run(tmp_path)
    rc, out, _ = call(tmp_path, "show", run_id)
    assert rc == 0 and "subworkflow:" in out and "runner overhead" in out


def test_secret_masked_in_cli_output(tmp_path):
    rc, out, err = call(
        tmp_path,
        "run",
        "linear",
        "--param",
        "message=x",
        "--param",
        "password=hunter2-xyz",
        "--json",
    )
    assert rc == 0
    assert "hunter2-xyz" not in out + err
    rc, out, _ = call(tmp_path, "show", the_run(tmp_path), "--json")
    assert "hunter2-xyz" not in out and '"password": "********"' in out


def test_a_paused_run_whose_service_was_recovered_says_cancel_not_resume():
    from types import SimpleNamespace

    from pacemaker_update.cli.running import summary
    cause = {"kind": "unexpected_failover", "message": "server1 lost",
             "recovery": {"action": "online", "node": "server2"}}
    text = summary(SimpleNamespace(run_id="r1", status="paused", output={}, errors=[],
                                   pause_cause=cause))
    assert "do not resume" in text and "pacemaker-update cancel r1" in text
    assert "resume with" not in text
    cause["recovery"] = {"action": "blocked", "node": "server2"}
    text = summary(SimpleNamespace(run_id="r1", status="paused", output={}, errors=[],
                                   pause_cause=cause))
    assert "resume with: pacemaker-update resume r1" in text


@pytest.mark.slow
def test_resume_refuses_a_run_whose_service_was_recovered_unless_forced(tmp_path):
    log, hold = str(tmp_path / "log"), tmp_path / "release"
    proc = spawn(tmp_path, "run", "slow", "--param", "path=" + log, "--param", "seconds=0",
                 "--param", f"hold={hold}")
    wait_for(log, "start a")
    run_id = RunStore(str(tmp_path)).list_runs(1)[0]["id"]
    assert call(tmp_path, "pause", run_id)[0] == 0
    hold.write_text("a b c")
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    # what the failover watcher records after bringing the node under update back online
    store = RunStore(str(tmp_path))
    store.update_run(run_id, pause_cause={
        "kind": "unexpected_failover", "message": "node server1 offline",
        "recovery": {"action": "online", "node": "server2"}})
    store.close()
    rc, _, err = call(tmp_path, "resume", run_id)
    assert rc == 2 and "RUN_RECOVERED" in err and f"pacemaker-update cancel {run_id}" in err
    assert lines(log) == ["start a", "end a"]  # nothing more ran
    rc, _, err = call(tmp_path, "resume", run_id, "--force")
    assert rc == 0, err
    assert lines(log) == ["start a", "end a", "start b", "end b", "start c", "end c"]
