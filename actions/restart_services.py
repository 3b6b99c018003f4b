"""restart_services: systemctl restart of declared units on a node, each verified active."""

from typing import Any, Dict, List

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class RestartServices(ClusterAction):
    """data: node, restarted, planned (dry run)."""

    def execute(self, ctx: ActionContext, node: str = "", services: Any = None,
                **_: Any) -> Dict[str, Any]:
        units: List[Any] = ops.check_list(services, "services", allow_empty=True)
        return ops.restart_services(ctx, node, units)
