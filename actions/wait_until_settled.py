"""wait_until_settled: no pending transition, nodes online, every resource in its role."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class WaitUntilSettled(ClusterAction):
    """data: settled, seconds, rounds, read_from. Timeout: WAIT_TIMEOUT with reasons."""

    def execute(self, ctx: ActionContext, expect_online: Any = None, **_: Any) -> Dict[str, Any]:
        nodes = [ops.check_node(ctx, n) for n in
                 ops.check_list(expect_online, "expect_online", allow_empty=True)]
        return ops.wait_until_settled(ctx, expect_online=nodes or None,
                                      progress=lambda p: self.logger.info("waiting: %s", p))
