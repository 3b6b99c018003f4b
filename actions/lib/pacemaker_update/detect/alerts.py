"""Pacemaker alert-agent messages (what ``alert_agent.sh`` POSTs) turned into Events.

The agent sends the ``CRM_alert_*`` variables Pacemaker sets (kind, node, rsc, task, rc,
target_rc, status, desc, timestamp) plus the cluster name configured at install time.
An alert is a hint, not a state: ``alert_to_events`` maps it to the same event kinds the
crm_mon diff produces so the ledger judges both alike, and the watcher also polls crm_mon
right away to see the whole picture. Only departures, failures, lost nodes and fencing are
mapped: a start or promote alone is the arrival half of a move, which only the next crm_mon
diff can pair with its departure (an alert has no memory of the move it belongs to).
"""

import re
from typing import Any, Dict, List, Mapping, Optional

from pacemaker_update.detect.events import Event, make_event
from pacemaker_update.errors import InvalidInputError

MAX_FIELD = 256
# CRM_alert_status values (Pacemaker's enum pcmk_exec_status): done, cancelled, pending.
EXEC_DONE, EXEC_CANCELLED, EXEC_PENDING = "0", "1", "-1"
_SAFE = re.compile(r"^[\w .:@/+,=()\[\]-]*$")
FIELDS = ("cluster", "kind", "node", "rsc", "task", "desc", "rc", "target_rc", "status",
          "timestamp", "timestamp_epoch", "timestamp_usec", "nodeid", "version")


def parse_alert(body: Any) -> Dict[str, str]:
    """Validate an alert body (a JSON object of short strings); InvalidInputError if not."""
    if not isinstance(body, Mapping):
        raise InvalidInputError("an alert must be a JSON object", code="INVALID_ALERT")
    out: Dict[str, str] = {}
    for name in FIELDS:
        value = body.get(name)
        if value is None or value == "":
            continue
        text = str(value)
        if len(text) > MAX_FIELD or not _SAFE.match(text):
            raise InvalidInputError(f"alert field {name} has unexpected characters",
                                    code="INVALID_ALERT", details={"field": name})
        out[name] = text
    if out.get("kind") not in ("node", "resource", "fencing", "attribute"):
        raise InvalidInputError(f"unknown alert kind {out.get('kind')!r}", code="INVALID_ALERT")
    return out


def _rc(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def alert_to_events(alert: Mapping[str, str], cluster: str, at: str) -> List[Event]:
    """The events an alert stands for (possibly none: e.g. a successful monitor)."""
    kind, node = alert.get("kind"), alert.get("node")
    base: Dict[str, Any] = {"node": node, "source": "alert", "state_time": alert.get("timestamp")}
    if kind == "fencing":
        return [make_event("fencing", cluster, at, f"fencing: {alert.get('desc', '')}",
                           from_node=node, **base)]
    if kind == "node":
        if alert.get("desc") == "lost":
            return [make_event("node_offline", cluster, at, f"node {node} lost (alert)",
                               from_node=node, **base)]
        return []
    if kind != "resource":
        return []
    return _resource_alert(alert, cluster, at, base)


def _resource_alert(alert: Mapping[str, str], cluster: str, at: str,
                    base: Dict[str, Any]) -> List[Event]:
    rsc, task, node = alert.get("rsc"), alert.get("task"), alert.get("node")
    rc, target = _rc(alert.get("rc")), _rc(alert.get("target_rc"))
    status = alert.get("status")
    if status == EXEC_CANCELLED:
        # Pacemaker cancels a resource's recurring monitor before every stop (and alerts
        # it as desc "Cancelled", status 1): part of a stop, never a failure.
        return []
    failed = (rc is not None and target is not None and rc != target) or (
        status not in (None, EXEC_DONE, EXEC_PENDING))
    if failed:
        return [make_event("failed_action", cluster, at,
                           f"{rsc} {task} failed on {node}: rc={rc} (alert: "
                           f"{alert.get('desc', '')})", resource=rsc, from_node=node, **base)]
    if task == "stop":
        return [make_event("resource_stopped", cluster, at, f"{rsc} stopped on {node} (alert)",
                           resource=rsc, from_node=node, role_after="stopped", **base)]
    if task == "demote":
        return [make_event("role_changed", cluster, at, f"{rsc} demoted on {node} (alert)",
                           resource=rsc, from_node=node, role_before="promoted",
                           role_after="unpromoted", **base)]
    return []
