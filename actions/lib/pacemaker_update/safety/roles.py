"""Role detection: who is primary, and in which order to update the nodes.

The standby is updated first and the primary last, so the service moves once. The
primary is the node carrying the most "primary work": promoted instances plus started
primitives that are not clone instances (a group counts its members). Ties are broken by
node name, so the same state always gives the same plan.
"""

from typing import Any, Dict, List, Optional

from ..state.cluster import ClusterState

ACTIVE_KINDS = ("started", "promoted", "unpromoted", "starting", "migrating")


def _weight(res: Any) -> int:
    """How much of the primary's work one active instance is (0 = secondary role)."""
    if res.role_kind == "promoted":
        return 1
    if res.clone is None and res.bundle is None and res.role_kind in ("started", "starting",
                                                                       "migrating"):
        return 1
    return 0


def describe_node_resources(state: ClusterState) -> Dict[str, List[Dict[str, Any]]]:
    """Node -> the resource instances active on it, with role and parents."""
    out: Dict[str, List[Dict[str, Any]]] = {name: [] for name in state.node_names()}
    for res in state.resources:
        if res.role_kind not in ACTIVE_KINDS:
            continue
        for node in res.nodes:
            out.setdefault(node, []).append({
                "resource": res.id, "role": res.role, "role_kind": res.role_kind,
                "group": res.group, "clone": res.clone, "primary_role": _weight(res) > 0,
            })
    return out


def detect_roles(state: ClusterState) -> Dict[str, Any]:
    """Per node its resources and role, the ``primary`` (or None) and the update ``order``.

    ``order``: nodes with no primary work first (by name), then by increasing primary
    work, the primary last. ``roles``: node -> ``primary`` | ``active`` (primary work, but
    less) | ``secondary`` (only clone/unpromoted instances) | ``idle`` (runs nothing).
    """
    per_node = describe_node_resources(state)
    weight = {n: sum(1 for r in items if r["primary_role"]) for n, items in per_node.items()}
    primary: Optional[str] = None
    best = max(weight.values(), default=0)
    if best > 0:
        primary = sorted(n for n, w in weight.items() if w == best)[0]
    others = sorted((n for n in per_node if n != primary), key=lambda n: (weight[n], n))
    order = others + ([primary] if primary else [])
    roles = {}
    for name, items in per_node.items():
        if name == primary:
            roles[name] = "primary"
        elif weight[name]:
            roles[name] = "active"
        elif items:
            roles[name] = "secondary"
        else:
            roles[name] = "idle"
    return {"primary": primary, "order": order, "roles": roles, "weights": weight,
            "resources": per_node}


def primary_work_on(state: ClusterState, node: str) -> List[str]:
    """Non-clone resources (and promoted instances) active on ``node``: what must move
    when the node goes into standby (a clone's other instances stay where they are)."""
    return sorted({r.clone or r.id for r in state.resources_on(node)
                   if r.role_kind in ("started", "promoted")
                   and (r.clone is None or r.role_kind == "promoted")})


def is_promotable(state: ClusterState, rid: str) -> bool:
    """Whether ``rid`` is a promotable clone (its promoted instance is what must move)."""
    return any(r.is_promotable_clone for r in state.resource_instances(rid))


def moved_problems(state: ClusterState, node: str, rids: List[str]) -> List[str]:
    """Each of ``rids`` that is not active (promoted, for a promotable clone) on some node
    other than ``node``: empty when everything that ran there runs elsewhere."""
    out = []
    for rid in rids:
        where = state.promoted_nodes_of(rid) if is_promotable(state, rid) else \
            state.active_nodes_of(rid)
        if not where or node in where:
            out.append(f"{rid} runs on {','.join(where) or 'no node'}")
    return out
