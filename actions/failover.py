"""failover: move everything away from a node (standby, verify, online, verify)."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class Failover(ClusterAction):
    """data: node, resources (that had to move), moved ({resource: [nodes]}), planned."""

    def execute(self, ctx: ActionContext, node: str = "", **_: Any) -> Dict[str, Any]:
        return ops.failover_from(ctx, node)
