"""set_node_standby: standby (resources move away) or online, verified in crm_mon."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class SetNodeStandby(ClusterAction):
    """data: node, standby, changed, resources_on_node, planned (dry run)."""

    def execute(self, ctx: ActionContext, node: str = "", enabled: Any = None,
                **_: Any) -> Dict[str, Any]:
        return ops.set_node_standby(ctx, node, enabled)
