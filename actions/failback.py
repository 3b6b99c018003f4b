"""failback: move resources back to where a snapshot had them."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class Failback(ClusterAction):
    """data: failed_over (nodes), steps, differences left (clones only), planned."""

    def execute(self, ctx: ActionContext, snapshot: Any = None, **_: Any) -> Dict[str, Any]:
        return ops.failback(ctx, snapshot)
