"""Open an expected-moves ledger entry before a workflow step that moves resources."""

from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.detect.actions import ledger_store, validate_cluster_name
from pacemaker_update.detect.ledger import new_entry
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action
from pacemaker_update.validate import validate_node_name, validate_resource_id


class RecordExpectedMoves(Action):
    """Record what step ``step`` of run ``run_id`` is about to cause, for ``ttl`` seconds."""

    def run(self, cluster: str, run_id: str, step: str, operation: str,  # type: ignore[override]
            node: Optional[str] = None, resources: Optional[List[str]] = None,
            destinations: Optional[List[str]] = None, ttl: int = 900,
            note: str = "") -> Tuple[bool, Dict[str, Any]]:
        """(True, {entry}) or (False, {error})."""
        try:
            validate_cluster_name(cluster)
            if node is not None:
                validate_node_name(node)
            for rid in resources or []:
                validate_resource_id(rid, field="resources")
            for name in destinations or []:
                validate_node_name(name, field="destinations")
            entry = new_entry(cluster, run_id, step, operation, node, resources,
                              destinations, ttl, note=note)
            ledger_store(self.action_service).open(entry)
            return True, {"entry": entry.to_dict()}
        except PacemakerUpdateError as exc:
            return False, {"error": exc.to_dict()}
