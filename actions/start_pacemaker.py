"""start_pacemaker: start corosync and pacemaker on a node; online in crm_mon."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class StartPacemaker(ClusterAction):
    """data: node, started (units), planned (dry run)."""

    def execute(self, ctx: ActionContext, node: str = "", **_: Any) -> Dict[str, Any]:
        return ops.start_pacemaker(ctx, node)
