"""End to end on the real lab: a rolling standby update interrupted mid-update and finished
by another process. `pacemaker-update run` runs as a subprocess; while the first node is in
standby (seen in the run store AND in crm_mon) it is SIGKILLed, or paused with
`pacemaker-update pause RUN` from another process; `pacemaker-update resume RUN` (a third
process) must complete the update and leave the cluster healthy, each node's package changed
exactly once.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    CLI,
    CrmWatch,
    assert_packages_updated,
    changing_transactions,
    cli_argv,
    end_state,
    one_switchover,
    reference_outage,
    root_run_id,
    run_cli,
    task_rows,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab(lab_factory: Any) -> Any:
    handle = lab_factory(2, "crmsh", False)
    handle.reset()
    return handle


def start_update(lab: Any, state_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    """`pacemaker-update run update_cluster` (rolling_standby of httpd) in the background;
    its stderr (the progress lines) goes to a file."""
    log = state_dir / "run.stderr"
    argv = cli_argv(lab, state_dir, "rolling_standby", ["httpd"], failback="original")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "w"),  # noqa: SIM115
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return proc, log


def wait_first_node_in_standby(lab: Any, state_dir: Path, node: str, proc: Any,
                               timeout: float = 180) -> None:
    """Until the run store says the first standby succeeded and crm_mon shows it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the update ended before its first node was in standby"
        done = [r for r in task_rows(state_dir)
                if r["task_id"] == "standby" and r["status"] == "succeeded"]
        if done and lab.summary()["nodes"][node].get("standby") == "true":
            return
        time.sleep(0.1)
    raise AssertionError(f"{node} never reached standby within {timeout} s")


def resume(lab: Any, state_dir: Path, run_id: str) -> Any:
    """`pacemaker-update resume RUN --json` in a new process."""
    return run_cli([str(CLI), "resume", run_id, "--config", str(lab.config_path),
                    "--state-dir", str(state_dir), "--yes", "--json"])


def assert_finished_healthy(lab: Any, primary: str, before: dict[str, Any], run: Any,
                            figures: dict[str, Any], reference: float) -> None:
    """Done, every node updated once, the service back on its primary, one switchover's
    outage at most per move."""
    assert run.rc == 0, run.explain()
    assert run.report["status"] == "succeeded", run.explain()
    assert_packages_updated(lab, ["httpd"], before)
    for node in lab.nodes:
        assert len(changing_transactions(lab, node, "httpd")) == 1, lab.package_log(node)
    state = end_state(lab, primary)
    assert state.problems == [], state.problems
    assert figures["longest_outage"] <= one_switchover(reference), (figures, reference)


def test_sigkill_mid_update_then_resume_from_another_process_completes(
        lab: Any, tmp_path: Path) -> None:
    reference = reference_outage(lab)
    lab.reset()
    primary = lab.summary()["resources"]["web"][0]
    first = [n for n in lab.nodes if n != primary][0]
    before = {n: lab.package_db(n) for n in lab.nodes}
    with CrmWatch(lab) as watch, lab.probe() as probe:
        proc, log = start_update(lab, tmp_path)
        wait_first_node_in_standby(lab, tmp_path, first, proc)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        run_id = root_run_id(tmp_path)
        assert run_id, "the killed run left no record"
        # the kill really was mid-update: the first node is still in standby, nobody left
        time.sleep(1.0)
        assert lab.summary()["nodes"][first]["standby"] == "true"
        status = subprocess.run([str(CLI), "status", run_id, "--state-dir", str(tmp_path),
                                 "--json"], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        print(f"\n[e2e] status after SIGKILL: {status.stdout.strip()[:300]}")
        run = resume(lab, tmp_path, run_id)
        time.sleep(1.0)
        figures = probe.stop()
    print(f"[e2e] killed run {run_id} resumed in {run.wall:.1f} s; probe {figures}")
    assert_finished_healthy(lab, primary, before, run, figures, reference)
    assert first in watch.seen("standby")


@pytest.mark.parametrize("how", ["pause-command", "sighup"])
def test_pause_from_another_process_then_resume_completes(lab: Any, tmp_path: Path,
                                                          how: str) -> None:
    """`pause RUN` from another terminal, or SIGHUP: the operator's SSH session to the
    machine running the update dropped. Either pauses at the next step boundary (exit 3),
    never mid-step, and `resume` in a new process finishes."""
    reference = reference_outage(lab)
    lab.reset()
    primary = lab.summary()["resources"]["web"][0]
    first = [n for n in lab.nodes if n != primary][0]
    before = {n: lab.package_db(n) for n in lab.nodes}
    with lab.probe() as probe:
        proc, log = start_update(lab, tmp_path)
        wait_first_node_in_standby(lab, tmp_path, first, proc)
        run_id = root_run_id(tmp_path)
        assert run_id
        if how == "sighup":
            os.kill(proc.pid, signal.SIGHUP)
        else:
            paused = subprocess.run([str(CLI), "pause", run_id, "--state-dir", str(tmp_path),
                                     "--json"], capture_output=True, text=True, timeout=60)
            assert paused.returncode == 0, paused.stdout + paused.stderr
        rc = proc.wait(timeout=300)
        assert rc == 3, f"the runner should exit 3 (paused), got {rc}:\n{log.read_text()[-2000:]}"
        shown = subprocess.run([str(CLI), "show", run_id, "--state-dir", str(tmp_path),
                                "--json"], capture_output=True, text=True, timeout=60)
        assert json.loads(shown.stdout)["status"] == "paused"
        cause = json.loads(shown.stdout).get("pause_cause") or {}
        if how == "sighup":
            assert "SIGHUP" in json.dumps(cause), cause
        # paused at a step boundary: the second node (the primary) was not touched yet
        assert lab.package_db(primary)["httpd"] == before[primary]["httpd"]
        run = resume(lab, tmp_path, run_id)
        time.sleep(1.0)
        figures = probe.stop()
    print(f"\n[e2e] paused run {run_id} resumed in {run.wall:.1f} s; probe {figures}")
    assert_finished_healthy(lab, primary, before, run, figures, reference)
