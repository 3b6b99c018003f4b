"""Progress / resume / cancel a cluster's update_cluster execution through the st2 API.

Calls (``detect.st2api.St2Api``, token in X-Auth-Token):
``GET /executions?action=pacemaker_update.update_cluster&status=S`` per status (parameter
``cluster`` matched here), ``GET /executions/ID`` and ``GET /executions/ID/children?depth=-1``
(progress), ``PUT /executions/ID`` ``{"status": "resuming" | "canceling"}``.
"""

import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pacemaker_update.detect.actions import validate_cluster_name
from pacemaker_update.detect.st2api import St2Api
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError
from pacemaker_update.st2compat import Action

UPDATE_REF = "pacemaker_update.update_cluster"
FOR_OPERATION = {
    "progress": ("running", "pausing", "paused", "resuming", "canceling", "scheduled",
                 "requested", "delayed"),
    "resume": ("paused", "pausing", "running", "resuming"),
    "cancel": ("running", "pausing", "paused", "resuming", "scheduled", "requested", "delayed"),
}


class NoUpdateError(PacemakerUpdateError):
    """No update_cluster execution of the cluster is in a state the operation needs."""

    code = "NO_UPDATE"


def find_update(api: St2Api, cluster: str, statuses: Sequence[str]) -> Dict[str, Any]:
    """The newest update_cluster execution of ``cluster`` in one of ``statuses``."""
    found: List[Dict[str, Any]] = []
    for status in statuses:
        for execution in api.list_executions(UPDATE_REF, status):
            if (execution.get("parameters") or {}).get("cluster") == cluster:
                found.append(execution)
    if not found:
        raise NoUpdateError(f"no {' / '.join(statuses[:3])} update of cluster {cluster}",
                            details={"cluster": cluster, "statuses": list(statuses)},
                            hint=f"start one with: pacemaker update {cluster} with <method>")
    return max(found, key=lambda e: str(e.get("start_timestamp") or ""))


def _quoted(execution_id: Any) -> str:
    return urllib.parse.quote(str(execution_id), safe="")


def _newest_task(children: Sequence[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    tasks = [c for c in children if isinstance(c, dict)
             and (c.get("runner") or {}).get("name") != "orquesta"]
    return max(tasks, key=lambda c: str(c.get("start_timestamp") or "")) if tasks else None


def read_progress(api: St2Api, execution: Dict[str, Any]) -> Dict[str, Any]:
    """Published progress from the execution's output, else its newest task."""
    full = api.request("GET", f"/executions/{_quoted(execution['id'])}") or {}
    output = ((full.get("result") or {}).get("output") or {}) if isinstance(full, dict) else {}
    progress = output.get("progress") or []
    node, step = output.get("current_node"), output.get("current_step")
    task = None
    if node is None and step is None:
        children = api.request(
            "GET", f"/executions/{_quoted(execution['id'])}/children?depth=-1") or []
        task = _newest_task(children)
        if task is not None:
            step = ((task.get("context") or {}).get("orquesta") or {}).get("task_name")
            node = (task.get("parameters") or {}).get("node")
    done = sorted({str(p["node"]) for p in progress if isinstance(p, dict) and p.get("node")})
    return {"execution_id": execution["id"], "status": full.get("status", execution.get(
        "status")), "method": (execution.get("parameters") or {}).get("method"),
        "current_node": node, "current_step": step, "progress": progress,
        "nodes_seen": done, "task": (task or {}).get("action", {}).get("ref")}


def _progress_message(cluster: str, data: Dict[str, Any]) -> str:
    where = ", ".join(x for x in (
        f"node {data['current_node']}" if data["current_node"] else "",
        f"step {data['current_step']}" if data["current_step"] else "") if x)
    text = f"update {data['execution_id']} of {cluster} ({data['method']}) is {data['status']}"
    text += f": {where}" if where else ""
    if data["progress"]:
        text += f"; {len(data['progress'])} step(s) done on {len(data['nodes_seen'])} node(s)"
    return text


def control_update(api: St2Api, cluster: str, operation: str) -> Dict[str, Any]:
    """Run one operation; the result (with ``message``) or a coded error."""
    if operation not in FOR_OPERATION:
        raise InvalidInputError(f"operation must be progress, resume or cancel, got "
                                f"{operation!r}", details={"field": "operation"})
    execution = find_update(api, cluster, FOR_OPERATION[operation])
    if operation == "progress":
        data = read_progress(api, execution)
        return {"cluster": cluster, "operation": operation, "data": data,
                "message": _progress_message(cluster, data)}
    if operation == "resume" and execution.get("status") not in ("paused", "pausing"):
        raise PacemakerUpdateError(
            f"update {execution['id']} of {cluster} is {execution.get('status')}, not paused",
            code="NOT_PAUSED", details={"execution_id": execution["id"]})
    target = "resuming" if operation == "resume" else "canceling"
    answer = api.request("PUT", f"/executions/{_quoted(execution['id'])}",
                         {"status": target}) or {}
    verb = "resumed" if operation == "resume" else "canceling (after its running step)"
    return {"cluster": cluster, "operation": operation,
            "data": {"execution_id": execution["id"], "was": execution.get("status"),
                     "status": answer.get("status", target)},
            "message": f"update {execution['id']} of {cluster}: {verb}"}


class UpdateControl(Action):
    """Thin wrapper: st2 API client from the environment, envelope with ``message``."""

    def run(self, cluster: str, operation: str = "progress",  # type: ignore[override]
            api_timeout: int = 10) -> Tuple[bool, Dict[str, Any]]:
        """(True, {cluster, operation, data, message}) or (False, {error, message})."""
        try:
            validate_cluster_name(cluster)
            result = control_update(St2Api.from_env(timeout=api_timeout), cluster, operation)
            return True, dict(result, ok=True, error=None)
        except PacemakerUpdateError as exc:
            return False, {"ok": False, "cluster": cluster, "operation": operation,
                           "data": {}, "error": exc.to_dict(),
                           "message": f"{operation} of {cluster} failed: {exc.message}"}
