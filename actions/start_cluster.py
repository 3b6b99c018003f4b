"""start_cluster: start corosync and pacemaker on every given node; all online in crm_mon."""

from typing import Any, Dict, List, Optional

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class StartCluster(ClusterAction):
    """data: nodes, started (units), planned (dry run).

    Started together, the nodes form one membership at once; started one after the other
    after a whole-cluster stop, each waits dc-deadtime alone before it is seen online.
    """

    def execute(self, ctx: ActionContext, start_nodes: Optional[List[str]] = None,
                **_: Any) -> Dict[str, Any]:
        return ops.start_cluster(ctx, start_nodes or [])
