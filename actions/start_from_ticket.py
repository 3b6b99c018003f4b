"""Start an update from a change ticket (webhook payload); see chatops/intake.py."""

from typing import Any, Dict, Tuple

from pacemaker_update.chatops.intake import EXECUTION_PREFIX, start_from_ticket
from pacemaker_update.detect.st2api import St2Api
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.st2compat import Action
from pacemaker_update.ticket import DatastoreLedger


class St2Ledger(DatastoreLedger):
    """Datastore ledger that also maps execution id → change id (for notify_callback)."""

    def put_execution(self, execution_id: str, change_id: str) -> None:
        """Remember which ticket an execution belongs to."""
        self.service.set_value(EXECUTION_PREFIX + execution_id, change_id, local=False)


class StartFromTicket(Action):
    """Thin wrapper: st2 datastore ledger + st2 API starter."""

    def run(self, change_id: str, payload: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
        if not isinstance(payload, dict) or payload.get("change_id") != change_id:
            error = InvalidInputError("change_id must equal payload.change_id",
                                      code="INVALID_TICKET", details={"field": "change_id"})
            return False, {"ok": False, "data": {}, "error": error.to_dict()}

        def start(params: Dict[str, Any]) -> str:
            return str(St2Api.from_env().run_action("pacemaker_update.update_cluster",
                                                    params).get("id"))

        return start_from_ticket(payload, St2Ledger(self.action_service), start)
