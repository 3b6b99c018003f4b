"""cluster_status: the state as JSON, plus the answers workflows ask most."""

import dataclasses
from typing import Any, Dict, Optional

from ..commands.probe import parse_optional, probe_crm_mon_argv
from ..errors import PacemakerUpdateError
from ..safety.roles import detect_roles
from ..state import ClusterState
from .base import dialect_of, read_state, run_read


def state_to_dict(state: ClusterState) -> Dict[str, Any]:
    """A ClusterState as plain JSON types (read-only mappings become dicts)."""
    return {
        "summary": dataclasses.asdict(state.summary),
        "nodes": [dataclasses.asdict(n) for n in state.nodes],
        "resources": [dict(dataclasses.asdict(r), nodes=list(r.nodes)) for r in state.resources],
        "failures": [dataclasses.asdict(f) for f in state.failures],
        "node_attributes": {n: dict(a) for n, a in state.node_attributes.items()},
        "source_format": state.source_format,
    }


def cluster_status(ctx: Any) -> Dict[str, Any]:
    """crm_mon from the first reachable node: full state, the quick answers, the dialect."""
    node, state = read_state(ctx)
    dialect = dialect_of(ctx)
    roles = detect_roles(state)
    return {
        "read_from": node,
        "frontend": dialect.frontend, "frontend_version": dialect.version,
        "pacemaker_version": dialect.pacemaker_version,
        "dc": state.summary.dc_name, "quorum": state.summary.have_quorum,
        "maintenance_mode": state.summary.maintenance_mode,
        "online": list(state.online_nodes()), "standby": list(state.standby_nodes()),
        "maintenance": list(state.maintenance_nodes()),
        "placement": {k: list(v) for k, v in state.placement().items()},
        "failed_actions": len(state.failures), "primary": roles["primary"],
        "order": roles["order"], "state": state_to_dict(state),
    }


def probe_versions(ctx: Any) -> Dict[str, Optional[str]]:
    """Node -> Pacemaker version (``crm_mon --version``, read-only); None if unreadable."""
    out: Dict[str, Optional[str]] = {}
    for node in ctx.cluster.node_names:
        try:
            res = run_read(ctx, node, probe_crm_mon_argv(), timeout=30)
            out[node] = parse_optional("crm_mon", res.stdout, res.rc)
        except PacemakerUpdateError as exc:
            ctx.warn(f"Pacemaker version of {node} unknown ({exc.code})")
            out[node] = None
    return out
