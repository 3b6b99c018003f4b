"""What the rules do about an unexpected event: pause (or roll back) the running update.

Both functions are idempotent, because one incident fires several triggers (every
resource of a moved group, the poll and the alert): pausing only touches executions that
are still ``running``, and a rollback is started only when none is already underway for
the cluster.
"""

import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from pacemaker_update.detect.st2api import St2Api

UPDATE_WORKFLOW = "pacemaker_update.update_cluster"
ROLLBACK_WORKFLOW = "pacemaker_update.rollback"
ACTIVE = ("requested", "scheduled", "running", "delayed")
HALTED = ("pausing", "paused")


def _for_cluster(executions: Sequence[Mapping[str, Any]], cluster: str) -> List[Dict]:
    out = []
    for execution in executions:
        params = execution.get("parameters")
        if isinstance(params, Mapping) and params.get("cluster") == cluster:
            out.append(dict(execution))
    return out


def find_updates(api: St2Api, cluster: str, workflows: Sequence[str],
                 statuses: Sequence[str] = ("running",)) -> List[Dict[str, Any]]:
    """Executions of the update workflows for ``cluster`` in any of ``statuses``."""
    found: List[Dict[str, Any]] = []
    for ref in workflows:
        for status in statuses:
            found.extend(_for_cluster(api.list_executions(ref, status), cluster))
    return found


def pause_updates(api: St2Api, cluster: str, reason: str,
                  workflows: Sequence[str] = (UPDATE_WORKFLOW,)) -> Dict[str, Any]:
    """Pause every running update of ``cluster``; report what was paused and why."""
    paused = []
    for execution in find_updates(api, cluster, workflows):
        answer = api.pause_execution(str(execution["id"]))
        paused.append({"id": execution["id"], "action": (execution.get("action") or {}).get(
            "ref"), "status": answer.get("status", "pausing")})
    halted = [e["id"] for e in find_updates(api, cluster, workflows, HALTED)] if not paused else []
    message = (f"paused update(s) {', '.join(p['id'] for p in paused)} of cluster {cluster}: "
               f"{reason}" if paused else
               f"no running update of cluster {cluster} to pause ({reason})")
    return {"cluster": cluster, "reason": reason, "paused": paused,
            "already_halted": halted, "message": message}


def rollback_updates(api: St2Api, cluster: str, reason: str,
                     workflows: Sequence[str] = (UPDATE_WORKFLOW,),
                     rollback: str = ROLLBACK_WORKFLOW,
                     parameters: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Pause the cluster's update(s), then start ``rollback`` unless one is underway."""
    result = pause_updates(api, cluster, reason, workflows)
    stopped = [p["id"] for p in result["paused"]] + list(result["already_halted"])
    result["rollback"] = None
    if not stopped:
        result["message"] += "; no update to roll back"
        return result
    underway = find_updates(api, cluster, [rollback], ACTIVE + HALTED)
    if underway:
        result["rollback"] = {"id": underway[0]["id"], "started": False}
        result["message"] += f"; rollback {underway[0]['id']} already underway"
        return result
    params = dict(parameters or {})
    params["cluster"] = cluster
    started = api.run_action(rollback, params)
    result["rollback"] = {"id": started.get("id"), "started": True, "parameters": params}
    result["message"] += f"; started {rollback} as {started.get('id')}"
    return result


RESTED = ("paused", "failed", "succeeded", "canceled", "timeout", "abandoned")


def wait_rested(api: St2Api, execution_id: str, timeout: float, poll: float = 2.0) -> str:
    """The execution's status once it rests (st2 pauses after the running tasks end)."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(api.get_execution(execution_id).get("status", ""))
        if status in RESTED or time.monotonic() >= deadline:
            return status
        time.sleep(poll)


def execution_tasks(api: St2Api, execution_id: str) -> List[Dict[str, Any]]:
    """Every task execution under a workflow (subworkflows too) as run-store-like rows:
    action ref, status, input (the parameters), started_at; oldest first."""
    rows: List[Dict[str, Any]] = []
    pending = [execution_id]
    while pending:
        for child in api.list_children(pending.pop()):
            ref = (child.get("action") or {}).get("ref")
            rows.append({"action": ref, "status": child.get("status"),
                         "input": child.get("parameters") or {},
                         "started_at": str(child.get("start_timestamp") or "")})
            if child.get("id"):
                pending.append(str(child["id"]))
    return sorted(rows, key=lambda r: r["started_at"])


def recover_after_pause(api: St2Api, cluster_config: Any, ledger: Any, execution_id: str,
                        timeout: float, recover: Optional[Callable[..., Dict]] = None
                        ) -> Dict[str, Any]:
    """Once the paused update rests: detect.recovery.recover_service (st2 path)."""
    from pacemaker_update.detect.recovery import recover_service

    status = wait_rested(api, execution_id, timeout)
    if status != "paused":
        shown = status or "in an unknown state"
        return {"action": "nothing", "execution": execution_id, "status": status,
                "message": f"no service recovery: execution {execution_id} is {shown}, "
                           "not paused"}
    result = (recover or recover_service)(cluster_config, ledger, execution_id,
                                          execution_tasks(api, execution_id))
    return dict(result, execution=execution_id, status=status)
