"""preflight_check: refuse to start an update on an unhealthy cluster; give the plan order."""

from typing import Any, Dict

from pacemaker_update import ops
from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.errors import PreflightError
from pacemaker_update.safety.preflight import errors_of, preflight
from pacemaker_update.safety.roles import detect_roles


class PreflightCheck(ClusterAction):
    """data: passed, problems, warnings, order, primary, roles, versions.
    Refusal: PREFLIGHT_FAILED with the same keys in error.details."""

    def execute(self, ctx: ActionContext, method: str = "rolling_standby",
                accept_failed_actions: bool = False, accept_standby: bool = False,
                allow_version_skew: bool = False, **_: Any) -> Dict[str, Any]:
        method = ops.check_method(method)
        _, state = ops.read_state(ctx)
        versions = ops.probe_versions(ctx)
        problems = preflight(state, method, list(ctx.cluster.node_names),
                             accept_failed_actions is True, accept_standby is True,
                             allow_version_skew is True, versions)
        roles = detect_roles(state)
        errors = errors_of(problems)
        data = {"passed": not errors, "problems": errors, "versions": versions,
                "warnings": [p for p in problems if p not in errors],
                "order": roles["order"], "primary": roles["primary"], "roles": roles["roles"]}
        if errors:
            raise PreflightError("; ".join(p["message"] for p in errors), details=data)
        return data
