"""update_packages: update named packages (or, explicitly, all) on one node."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction


class UpdatePackages(ClusterAction):
    """data: node, before, after, changed ({pkg: {before, after}}), available, planned."""

    def execute(self, ctx: ActionContext, node: str = "", packages: Any = None,
                all_packages: bool = False, allow_running_stack: bool = False,
                **_: Any) -> Dict[str, Any]:
        names = ops.check_packages(packages, all_packages is True)
        return ops.update_packages(ctx, node, names, ops.timeout_of(ctx, 540.0),
                                   allow_running_stack is True)
