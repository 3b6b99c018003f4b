"""list_package_updates: what an update would install, per node; installs nothing."""

from typing import Any, Dict, Optional

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class ListPackageUpdates(ClusterAction):
    """data: updates ({node: {package: version}}), count."""

    def execute(self, ctx: ActionContext, node: Optional[str] = None, packages: Any = None,
                **_: Any) -> Dict[str, Any]:
        names = ops.check_list(packages, "packages", allow_empty=True) or None
        nodes = [node] if node else list(ctx.cluster.node_names)
        updates = ops.list_package_updates(ctx, nodes, names, ops.timeout_of(ctx, 300.0))
        return {"updates": updates, "count": sum(len(u) for u in updates.values())}
