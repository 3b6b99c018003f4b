"""cluster_status: the cluster's state from crm_mon on the first reachable node."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class ClusterStatus(ClusterAction):
    """data: read_from, frontend, dc, quorum, online/standby/maintenance, placement,
    primary, order, failed_actions and the full parsed ``state``."""

    def execute(self, ctx: ActionContext, **_: Any) -> Dict[str, Any]:
        return ops.cluster_status(ctx)
