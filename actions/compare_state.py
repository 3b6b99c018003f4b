"""compare_state: differences between a snapshot and the cluster now; fails on any."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.errors import ClusterStateError
from pacemaker_update.safety.snapshot import compare


class CompareState(ClusterAction):
    """data: differences ([] on success). Failure: STATE_DIFFERS, details.differences."""

    def execute(self, ctx: ActionContext, snapshot: Any = None, ignore_placement: bool = False,
                **_: Any) -> Dict[str, Any]:
        _, state = ops.read_state(ctx)
        diffs = compare(snapshot, state, ignore_placement=ignore_placement is True)
        if diffs:
            raise ClusterStateError(
                f"{len(diffs)} resource(s) differ from the snapshot: "
                + ", ".join(f"{d['resource']} {d['kind']}" for d in diffs),
                code="STATE_DIFFERS", details={"differences": diffs})
        return {"differences": []}
