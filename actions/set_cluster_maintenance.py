"""set_cluster_maintenance: maintenance-mode on/off (off is guarded), verified in crm_mon."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class SetClusterMaintenance(ClusterAction):
    """data: maintenance, changed, unmanaged, guard (when leaving), planned."""

    def execute(self, ctx: ActionContext, enabled: Any = None, exit_check: Any = None,
                **_: Any) -> Dict[str, Any]:
        return ops.set_maintenance(ctx, None, enabled, exit_check=exit_check)
