"""Pause the running update of a cluster, then start the rollback workflow."""

from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.detect.actions import record_reason, validate_cluster_name
from pacemaker_update.detect.reaction import ROLLBACK_WORKFLOW, UPDATE_WORKFLOW, rollback_updates
from pacemaker_update.detect.st2api import St2Api
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action


class RollbackUpdate(Action):
    """Pause ``cluster``'s update(s); start ``rollback_workflow`` unless one is underway."""

    def run(self, cluster: str, reason: str = "unexpected failover",  # type: ignore[override]
            workflows: Optional[List[str]] = None,
            rollback_workflow: str = ROLLBACK_WORKFLOW,
            rollback_parameters: Optional[Dict[str, Any]] = None,
            api_timeout: int = 10) -> Tuple[bool, Dict[str, Any]]:
        """(ok, {paused, rollback, message}) or (False, {error})."""
        try:
            validate_cluster_name(cluster)
            api = St2Api.from_env(timeout=api_timeout)
            result = rollback_updates(api, cluster, reason, workflows or [UPDATE_WORKFLOW],
                                      rollback_workflow, rollback_parameters)
            record_reason(self.action_service, cluster, result)
            return True, result
        except PacemakerUpdateError as exc:
            return False, {"cluster": cluster, "error": exc.to_dict()}
