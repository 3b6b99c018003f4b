"""Tell a ticket about its update (status + rendered report); see chatops/intake.py."""

from typing import Any, Dict, Optional, Tuple

from pacemaker_update.chatops.intake import EXECUTION_PREFIX, notify_ticket
from pacemaker_update.st2compat import Action
from pacemaker_update.ticket import DatastoreLedger


class NotifyCallback(Action):
    """Thin wrapper: find the ticket, extract the report, POST."""

    def run(self, status: str, change_id: Optional[str] = None,
            execution_id: Optional[str] = None, result: Optional[Dict[str, Any]] = None,
            message: str = "") -> Tuple[bool, Dict[str, Any]]:
        ledger = DatastoreLedger(self.action_service)
        if not change_id and execution_id:
            change_id = self.action_service.get_value(EXECUTION_PREFIX + execution_id,
                                                      local=False)
            if not change_id:
                return True, {"ok": True, "data": {"ticket": None}, "error": None}
        if not change_id:
            return False, {"ok": False, "data": {}, "error": {
                "code": "INVALID_INPUT", "message": "give change_id or execution_id",
                "details": {"field": "change_id"}}}
        result = result or {}
        report = (result.get("output") or {}).get("report") or result.get("report") or (
            result if "nodes" in result else None)
        return notify_ticket(ledger, change_id, status, report, execution_id, message)
