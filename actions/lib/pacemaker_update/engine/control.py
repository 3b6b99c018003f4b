"""Pausing and canceling runs from any process or thread.

A live driving process is asked through the store's request flag (it polls it between
actions); a run nobody drives (paused, or its process died) is changed in the store directly.
"""

import contextlib
import json
import time
from typing import Any, Mapping, Optional

from pacemaker_update.engine import compat

compat.apply_fixes()


from orquesta import conducting, events, statuses  # type: ignore  # noqa: E402
from orquesta import exceptions as orq_exc  # type: ignore  # noqa: E402

from pacemaker_update.engine.store import RunStore, process_alive  # noqa: E402
from pacemaker_update.errors import RunStateError  # noqa: E402

FINAL = ("succeeded", "failed", "timeout", "abandoned", "canceled")


def request_run(
    store: RunStore, run_id: str, what: str, cause: Optional[Mapping[str, Any]] = None
) -> str:
    """Ask a top-level run to ``pause`` or ``cancel``; returns what was done.

    ``cause`` (pause only) is recorded in the run's ``pause_cause`` unless a pause is
    already pending, so the first reason wins (the watcher may report one incident twice).
    """
    run = store.get_run(run_id, with_state=True)
    if run["parent_id"]:
        raise RunStateError(
            "Run {} is a subworkflow; {} its top-level run {}".format(
                run["id"], what, run["root_id"]
            ),
            code="RUN_IS_CHILD",
        )
    if run["status"] in FINAL:
        raise RunStateError(
            "Run {} already {}".format(run["id"], run["status"]), code="RUN_FINISHED"
        )
    if what == "pause" and cause is not None and store.get_request(run["id"]) != "pause":
        store.update_run(run["id"], pause_cause=dict(cause))
    if process_alive(run["owner_pid"], run["owner_start"]):
        if store.get_request(run["id"]) != "cancel":
            store.set_request(run["id"], what)
        return "requested"
    if what == "pause":
        store.update_run(run["id"], status=statuses.PAUSED)
        return "paused"
    cancel_offline(store, run["id"])
    return "canceled"


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
    if run["conductor"] is None:  # a row written before its state (older stores): no task ran
        store.update_run(run_id, status=statuses.CANCELED, ended_at=time.time(), request=None)
        return
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
