"""One update per cluster in a run store: the embedded runner's counterpart of the st2
policy ``policies/one_update_per_cluster.yaml``.

A top-level run of a workflow that takes a ``cluster`` parameter and is not a dry run holds
its cluster from its first row until it ends (succeeded, failed, canceled, ...). Unlike
st2's concurrency policy a PAUSED or interrupted (runner killed) run holds it too: it left
the cluster mid-update and only ``resume`` or ``cancel`` of that run may go on. The check
and the insert of the new run's row happen in one ``BEGIN IMMEDIATE`` transaction, so of
two processes starting at once exactly one gets the cluster.
"""

import json
from typing import Any, Dict, Mapping, Optional

from pacemaker_update.engine.control import FINAL
from pacemaker_update.engine.store import RunStore, process_alive
from pacemaker_update.errors import RunStateError


def cluster_of(parameters: Mapping[str, Any], values: Mapping[str, Any]) -> Optional[str]:
    """The cluster a run would hold: its ``cluster`` value, unless it is a dry run."""
    cluster = values.get("cluster")
    if "cluster" not in parameters or not isinstance(cluster, str) or values.get("dry_run"):
        return None
    return cluster


def find_holder(store: RunStore, cluster: str) -> Optional[Dict[str, Any]]:
    """The unfinished top-level run that holds ``cluster`` in this store, if any."""
    marks = ", ".join("?" for _ in FINAL)
    rows = store.db.execute(
        "SELECT id, workflow, status, params, owner_pid, owner_start FROM runs "  # noqa: S608 - placeholders only
        f"WHERE parent_id IS NULL AND status NOT IN ({marks}) ORDER BY created_at",
        FINAL,
    ).fetchall()
    for row in rows:
        params = json.loads(row["params"] or "{}")
        if (
            isinstance(params, dict)
            and params.get("cluster") == cluster
            and not params.get("dry_run")
        ):
            return dict(row)
    return None


def busy_error(cluster: str, holder: Mapping[str, Any]) -> RunStateError:
    """CLUSTER_BUSY naming the holding run and how to go on with it."""
    run_id, status = holder["id"], holder["status"]
    alive = process_alive(holder["owner_pid"], holder["owner_start"])
    driven = (
        f"driven by process {holder['owner_pid']}"
        if alive
        else "interrupted: no process drives it"
        if status not in ("paused", "pausing")
        else "nobody drives it"
    )
    return RunStateError(
        f"Cluster {cluster} is busy: run {run_id} ({holder['workflow']}) is {status}, "
        f"{driven}; nothing was started",
        code="CLUSTER_BUSY",
        details={
            "cluster": cluster,
            "run": run_id,
            "status": status,
            "workflow": holder["workflow"],
            "owner_pid": holder["owner_pid"] if alive else None,
        },
        hint=f"go on with it: pacemaker-update resume {run_id} (or wait for it to end), "
        f"or stop it: pacemaker-update cancel {run_id}; see pacemaker-update show {run_id}",
    )


def create_run_exclusive(store: RunStore, row: Dict[str, Any], cluster: str) -> None:
    """Insert a top-level run's row unless another unfinished run holds ``cluster``."""
    with store.transaction():
        holder = find_holder(store, cluster)
        if holder is not None:
            raise busy_error(cluster, holder)
        store.create_run(row)
