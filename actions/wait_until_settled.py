"""wait_until_settled: no pending transition, nodes online, every resource in its role."""

from typing import Any, Dict, Optional

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.validate import validate_resource_id


class WaitUntilSettled(ClusterAction):
    """data: settled, seconds, rounds, read_from. Timeout: WAIT_TIMEOUT with reasons;
    RESOURCES_NOT_MOVED when ``moved`` does not run away from ``away_from`` once settled."""

    def execute(self, ctx: ActionContext, expect_online: Any = None,
                away_from: Optional[str] = None, moved: Any = None,
                **_: Any) -> Dict[str, Any]:
        nodes = [ops.check_node(ctx, n) for n in
                 ops.check_list(expect_online, "expect_online", allow_empty=True)]
        rids = [validate_resource_id(r, "moved") for r in
                ops.check_list(moved, "moved", allow_empty=True)]
        node = ops.check_node(ctx, away_from) if away_from else None
        return ops.wait_until_settled(ctx, expect_online=nodes or None,
                                      progress=lambda p: self.logger.info("waiting: %s", p),
                                      away_from=node, moved=rids)
