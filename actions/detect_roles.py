"""detect_roles: which node runs what in which role, and the safe update order."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.safety.roles import detect_roles


class DetectRoles(ClusterAction):
    """data: primary, order (primary last), roles (node -> primary|active|secondary|idle),
    resources (node -> instances with role), weights."""

    def execute(self, ctx: ActionContext, **_: Any) -> Dict[str, Any]:
        node, state = ops.read_state(ctx)
        return dict(detect_roles(state), read_from=node)
