"""snapshot_state: record placement and roles to compare after the update."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.safety.snapshot import snapshot


class SnapshotState(ClusterAction):
    """data: snapshot ({version, resources: {id: {node: role}}, nodes, primary})."""

    def execute(self, ctx: ActionContext, **_: Any) -> Dict[str, Any]:
        node, state = ops.read_state(ctx)
        return {"snapshot": snapshot(state), "read_from": node}
