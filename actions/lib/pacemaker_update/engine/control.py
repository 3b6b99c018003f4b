"""Stopping a run that no live process is driving (paused, or its process died)."""

import contextlib
import json
import time

from pacemaker_update.engine import compat

compat.apply_fixes()


from orquesta import conducting, events, statuses  # type: ignore  # noqa: E402
from orquesta import exceptions as orq_exc  # type: ignore  # noqa: E402

from pacemaker_update.engine.store import RunStore  # noqa: E402


def cancel_offline(store: RunStore, run_id: str) -> None:
    """Cancel a run and its subworkflows directly in the store.

    In-flight and pending actions are reported canceled to the conductor, so its
    state stays consistent for ``show``. Secrets stay hidden: the state is
    loaded with its markers and written back unchanged.
    """
    for child in store.child_runs(run_id):
        if child["status"] not in ("succeeded", "failed", "canceled"):
            cancel_offline(store, child["id"])
    run = store.get_run(run_id, with_state=True)
    conductor = conducting.WorkflowConductor.deserialize(json.loads(run["conductor"]))
    with store.transaction():
        for row in store.list_inflight(run_id):
            if row["item_id"] < 0:
                event = events.ActionExecutionEvent(statuses.CANCELED)
            else:
                event = events.TaskItemActionExecutionEvent(row["item_id"], statuses.CANCELED)
            # Best effort: the run is canceled whatever the conductor thinks of it.
            with contextlib.suppress(Exception):
                conductor.update_task_state(row["task_id"], row["route"], event)
            store.drop_inflight(run_id, row["task_id"], row["route"], row["item_id"])
            if row["task_seq"]:
                store.finish_task(row["task_seq"], status=statuses.CANCELED, ended_at=time.time())
        with contextlib.suppress(orq_exc.InvalidWorkflowStatusTransition):
            conductor.request_workflow_status(statuses.CANCELED)
        store.save_conductor(run_id, json.dumps(conductor.serialize()), statuses.CANCELED)
        store.update_run(run_id, status=statuses.CANCELED, ended_at=time.time(), request=None)
