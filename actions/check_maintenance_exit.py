"""check_maintenance_exit: would leaving maintenance stop, start, move or restart anything?"""

from typing import Any, Dict, Optional

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class CheckMaintenanceExit(ClusterAction):
    """data: safe, actions ([] when safe), node, simulated_on, reprobed.
    Refusal: SAFETY_GUARD_REFUSED with details.actions (each: action, resource, nodes)."""

    def execute(self, ctx: ActionContext, node: Optional[str] = None, reprobe: bool = True,
                **_: Any) -> Dict[str, Any]:
        report = ops.check_maintenance_exit(ctx, node, reprobe is not False)
        ops.refuse_unsafe_exit(report)
        return report
