"""stop_pacemaker: stop pacemaker (+corosync) on a node, verified by another node's view."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class StopPacemaker(ClusterAction):
    """data: node, stopped (units), online_nodes, planned (dry run)."""

    def execute(self, ctx: ActionContext, node: str = "", stop_corosync: bool = True,
                whole_cluster: bool = False, **_: Any) -> Dict[str, Any]:
        return ops.stop_pacemaker(ctx, node, stop_corosync is not False,
                                  whole_cluster=whole_cluster)
