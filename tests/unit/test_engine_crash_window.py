"""A runner killed between a run's first row and the driver's first save (crash campaign).

The row was inserted without conductor state, so `resume`, `cancel` and every later update
of the cluster (CLUSTER_BUSY) failed on it for good. The row now carries the state from
its first write; rows written the old way (NULL state) can still be canceled and a
subworkflow row of that kind is started afresh on resume. Uses the clipack fixture's
update_cluster look-alike (three logged steps).
"""

import subprocess
import sys

from pacemaker_update.engine.control import request_run
from test_engine_cluster_lock import make_engine, read


def killed_right_after_the_insert(engine, params):
    """What a SIGKILL right after the run's row was written leaves behind."""
    spec, values = engine.prepare("update_cluster", params)
    run_id = engine.new_run_id()
    engine._create(engine.store, run_id, spec, values, None, run_id)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    engine.store.update_run(run_id, owner_pid=int(dead.stdout), owner_start="0")
    return run_id


def test_a_run_killed_before_its_first_save_resumes_and_completes(tmp_path):
    log = str(tmp_path / "log")
    run_id = killed_right_after_the_insert(make_engine(tmp_path), {"cluster": "c1", "path": log})
    assert make_engine(tmp_path).store.get_run(run_id, with_state=True)["conductor"]
    result = make_engine(tmp_path).resume(run_id)
    assert result.status == "succeeded"
    assert read(log)[-1] == "end c"


def test_an_old_stateless_row_can_be_canceled_and_frees_its_cluster(tmp_path):
    engine = make_engine(tmp_path)
    run_id = killed_right_after_the_insert(engine, {"cluster": "c1"})
    engine.store.db.execute("UPDATE runs SET conductor = NULL WHERE id = ?", (run_id,))
    assert request_run(engine.store, run_id, "cancel") == "canceled"
    assert engine.store.get_run(run_id)["status"] == "canceled"
    assert make_engine(tmp_path).start("update_cluster", {"cluster": "c1"}).status == "succeeded"
