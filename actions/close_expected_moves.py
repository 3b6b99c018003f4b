"""Close the expected-moves ledger entry of a workflow step once it is verified."""

from typing import Any, Dict, Tuple

from pacemaker_update.detect.actions import ledger_store, validate_cluster_name
from pacemaker_update.detect.ledger import validate_id_part
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action


class CloseExpectedMoves(Action):
    """Close entry ``<run_id>.<step>`` of ``cluster`` (a missing entry is not an error)."""

    def run(self, cluster: str, run_id: str, step: str) -> Tuple[bool, Dict[str, Any]]:  # type: ignore[override]
        """(True, {closed: entry|None}) or (False, {error})."""
        try:
            validate_cluster_name(cluster)
            entry_id = f"{validate_id_part(run_id, 'run_id')}.{validate_id_part(step, 'step')}"
            closed = ledger_store(self.action_service).close(cluster, entry_id)
            return True, {"closed": closed.to_dict() if closed else None, "id": entry_id}
        except PacemakerUpdateError as exc:
            return False, {"error": exc.to_dict()}
