"""Crash anywhere, the representative points (the whole campaign is
bench/reliability_campaign.py): the runner of a real update on the lab is SIGKILLed with its
process group, `pacemaker-update resume RUN` in a new process must finish the update and leave
the cluster healthy, every package updated and changed exactly once per node.

- method 4 (rolling_standby) killed while the secondary is in standby (mid `standby`, after
  crm_mon shows it);
- method 4 killed while updating the primary (its `update`, the second one, has started);
- method 2 (cluster_maintenance) killed while maintenance-mode is on (crm_mon shows it);
- method 2 killed as `maintenance_off` starts, right after the exit-guard step: the resumed
  step is given that step's result again (its re-probe is reused only while the CIB is
  unchanged, ops/guard.py);
- method 1 (full_stop) killed inside the last node's stop once every node's pacemaker is
  stopped: no node answers crm_mon on resume (found by the campaign; fixed in
  ops/services.py: the whole-cluster stop is then verified with systemctl).
The kill must really land mid-update: the test checks crm_mon at the moment of the kill.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "bench", ROOT / "tests" / "lab"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import reliability_campaign as rc  # noqa: E402
from e2e_support import root_run_id  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]
PARAMS = {"failback": "none"}


@pytest.fixture
def lab(lab_factory: Any) -> Any:
    handle = lab_factory(2, "crmsh", False)
    handle.reset()
    return handle


def kill_when(lab: Any, state_dir: Path, method: str, point: rc.Point, check: Any) -> str:
    """Start the update, kill it at `point` once crm_mon satisfies `check`; the run id."""
    proc = rc.start_update(lab, state_dir, method, **PARAMS)
    try:
        row = rc.wait_point(state_dir, proc, point)
        assert row is not None, f"the run ended before {point.label}"
        deadline = time.monotonic() + 60
        while not check(lab.summary()):
            assert time.monotonic() < deadline, f"crm_mon never showed the state at {point}"
            assert proc.poll() is None, "the run ended before the cluster state was reached"
            time.sleep(0.05)
    finally:
        rc.kill_runner(proc)
    run_id = root_run_id(state_dir)
    assert run_id, "the killed run left no record"
    return run_id


def resume_and_check(lab: Any, state_dir: Path, method: str, run_id: str,
                     before: dict[str, dict[str, str]]) -> None:
    """resume finishes: rc 0, report succeeded, healthy, packages new and changed once."""
    resumed = rc.resume_run(lab, state_dir, run_id)
    where = rc.cluster_digest(lab)
    assert resumed.rc == 0, f"resume did not finish; cluster now {where}\n{resumed.explain()}"
    assert resumed.report.get("status") == "succeeded", f"{where}\n{resumed.explain()}"
    problems = rc.healthy_problems(lab, method, before)
    assert problems == [], problems


def crash_and_resume(lab: Any, method: str, point: rc.Point, reached: Any,
                     at_kill: Any = None) -> None:
    """Kill the update at `point` once crm_mon shows `reached`; `at_kill(summary)` checks
    the cluster at that moment; then the resume must finish it, healthy."""
    before = {n: lab.package_db(n) for n in lab.nodes}
    with tempfile.TemporaryDirectory(prefix="pmu-crash-") as tmp:
        state_dir = Path(tmp)
        run_id = kill_when(lab, state_dir, method, point, reached)
        if at_kill is not None:
            at_kill(lab.summary())
        resume_and_check(lab, state_dir, method, run_id, before)


def test_method4_killed_while_the_secondary_is_in_standby(lab: Any) -> None:
    primary = lab.summary()["resources"]["web"][0]
    secondary = [n for n in lab.nodes if n != primary][0]

    def in_standby(summary: Any) -> None:
        assert summary["nodes"][secondary]["standby"] == "true"

    crash_and_resume(lab, "rolling_standby", rc.Point("rolling_standby", "standby", 1),
                     lambda s: s["nodes"][secondary].get("standby") == "true", in_standby)


def test_method4_killed_while_updating_the_primary(lab: Any) -> None:
    primary = lab.summary()["resources"]["web"][0]

    def only_the_primary_in_standby(_summary: Any) -> None:
        at_kill = rc.cluster_digest(lab)
        assert at_kill["standby"] == [primary], at_kill

    crash_and_resume(lab, "rolling_standby", rc.Point("rolling_standby", "update", 2),
                     lambda s: s["nodes"][primary].get("standby") == "true",
                     only_the_primary_in_standby)


def test_method2_killed_while_maintenance_mode_is_on(lab: Any) -> None:
    def maintenance_on(summary: Any) -> None:
        assert summary["maintenance_mode"] is True

    crash_and_resume(lab, "cluster_maintenance",
                     rc.Point("rolling_cluster_maintenance", "update", 1),
                     lambda s: s["maintenance_mode"], maintenance_on)


def test_method2_killed_as_maintenance_is_lifted_after_the_guard(lab: Any) -> None:
    crash_and_resume(lab, "cluster_maintenance",
                     rc.Point("rolling_cluster_maintenance", "maintenance_off", 1),
                     lambda s: True)


def pacemaker_stopped_everywhere(lab: Any) -> bool:
    """systemctl on every node says pacemaker is inactive (crm_mon has nobody to ask)."""
    return all(lab.exec(n, ["systemctl", "is-active", "pacemaker"], timeout=20).returncode != 0
               for n in lab.nodes)


def test_method1_killed_after_the_last_node_stopped(lab: Any) -> None:
    """Method 1 (full_stop) killed while the last node's stop runs, once it took effect:
    the resume must see the stop done and finish the update (service back up). The kill
    missing its moment is pytest.fail."""
    before = {n: lab.package_db(n) for n in lab.nodes}
    point = rc.Point("full_stop_update", "stop", 2)
    with tempfile.TemporaryDirectory(prefix="pmu-crash-") as tmp:
        state_dir = Path(tmp)
        proc = rc.start_update(lab, state_dir, "full_stop", **PARAMS)
        try:
            if rc.wait_point(state_dir, proc, point) is None:
                pytest.fail("the run ended before the second stop")
            deadline = time.monotonic() + 60
            while not pacemaker_stopped_everywhere(lab):
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("pacemaker never stopped on every node while the run went on")
                time.sleep(0.05)
        finally:
            rc.kill_runner(proc)
        row = rc.occurrence_of(rc.task_tree(state_dir), point.workflow, point.task, 2)
        if (row or {}).get("status") != "running":
            pytest.fail(f"the kill did not land inside the last stop: {row}")
        run_id = root_run_id(state_dir)
        if not run_id:
            pytest.fail("the killed run left no record")
        resume_and_check(lab, state_dir, "full_stop", run_id, before)
