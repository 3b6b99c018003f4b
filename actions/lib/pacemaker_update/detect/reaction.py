"""What the rules do about an unexpected event: pause (or roll back) the running update.

Both functions are idempotent, because one incident fires several triggers (every
resource of a moved group, the poll and the alert): pausing only touches executions that
are still ``running``, and a rollback is started only when none is already underway for
the cluster.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

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
