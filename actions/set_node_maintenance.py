"""set_node_maintenance: node maintenance on/off (off is guarded), verified in crm_mon."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class SetNodeMaintenance(ClusterAction):
    """data: node, maintenance, changed, unmanaged, guard (when leaving), planned."""

    def execute(self, ctx: ActionContext, node: str = "", enabled: Any = None,
                exit_check: Any = None, **_: Any) -> Dict[str, Any]:
        return ops.set_maintenance(ctx, node, enabled, exit_check=exit_check)
