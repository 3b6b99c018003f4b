"""Pause the running update of a cluster through the st2 API (rule: unexpected_failover)."""

from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.detect.actions import (
    judge_alert,
    ledger_store,
    record_reason,
    validate_cluster_name,
)
from pacemaker_update.detect.reaction import UPDATE_WORKFLOW, pause_updates, recover_after_pause
from pacemaker_update.detect.st2api import St2Api
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action


class PauseUpdate(Action):
    """Pause every running update_cluster execution of ``cluster``; say why."""

    def run(self, cluster: str, reason: str = "unexpected failover",  # type: ignore[override]
            alert: Optional[Dict[str, Any]] = None, workflows: Optional[List[str]] = None,
            api_timeout: int = 10, recover_service: bool = True,
            recover_wait: int = 420) -> Tuple[bool, Dict[str, Any]]:
        """(ok, {paused, already_halted, message, recovery}) or (False, {error})."""
        try:
            validate_cluster_name(cluster)
            if alert is not None:
                unexpected = judge_alert(self.action_service, cluster, alert)
                if not unexpected:
                    return True, {"cluster": cluster, "paused": [], "expected": True,
                                  "message": "alert covered by the expected-moves ledger"}
                reason = "; ".join(e.message for e in unexpected)
            api = St2Api.from_env(timeout=api_timeout)
            result = pause_updates(api, cluster, reason, workflows or [UPDATE_WORKFLOW])
            if recover_service and result["paused"]:
                result["recovery"] = self._recover(api, cluster, result, recover_wait)
                result["message"] += "; " + result["recovery"]["message"]
            record_reason(self.action_service, cluster, result)
            return True, result
        except PacemakerUpdateError as exc:
            return False, {"cluster": cluster, "error": exc.to_dict()}

    def _recover(self, api: St2Api, cluster: str, result: Dict[str, Any],
                 wait: int) -> Dict[str, Any]:
        """detect.recovery once the paused update rests (see docs/RELIABILITY.md)."""
        from pacemaker_update.config import load_config

        try:
            config = load_config(self.config or {}, source="pack config").cluster(cluster)
            return recover_after_pause(api, config, ledger_store(self.action_service),
                                       str(result["paused"][0]["id"]), float(wait))
        except PacemakerUpdateError as exc:  # the pause stands; say why nothing more was done
            return {"action": "nothing", "error": exc.to_dict(),
                    "message": f"service recovery not attempted: {exc.message}"}
