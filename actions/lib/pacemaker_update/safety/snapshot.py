"""Snapshots of placement and roles, and their comparison with a later state.

A snapshot is plain JSON (it travels through workflow variables and st2's database):
``{"resources": {id: {node: role_kind}}, "nodes": {name: {online, standby,
maintenance}}, "primary": name|None}``. Clone instances share their primitive id, so a
resource maps each node it runs on to its role there.
"""

from collections import Counter
from typing import Any, Dict, List, Mapping

from ..errors import InvalidInputError
from ..state.cluster import ClusterState
from .roles import ACTIVE_KINDS, detect_roles

SNAPSHOT_VERSION = 1


def snapshot(state: ClusterState) -> Dict[str, Any]:
    """Where every resource runs and in which role, plus node flags and the primary."""
    resources: Dict[str, Dict[str, str]] = {}
    for res in state.resources:
        placed = resources.setdefault(res.id, {})
        if res.role_kind in ACTIVE_KINDS:
            for node in res.nodes:
                placed[node] = str(res.role_kind)
    nodes = {n.name: {"online": n.online, "standby": n.standby, "maintenance": n.maintenance}
             for n in state.nodes}
    return {"version": SNAPSHOT_VERSION, "resources": resources, "nodes": nodes,
            "primary": detect_roles(state)["primary"]}


def _check_snapshot(snap: Any) -> Mapping[str, Mapping[str, str]]:
    if not isinstance(snap, Mapping) or not isinstance(snap.get("resources"), Mapping):
        raise InvalidInputError("snapshot must be the object snapshot_state returned "
                                "(with a 'resources' mapping)",
                                details={"field": "snapshot", "rule": "snapshot"})
    for rid, placed in snap["resources"].items():
        if not isinstance(rid, str) or not isinstance(placed, Mapping):
            raise InvalidInputError("snapshot.resources must map ids to {node: role}",
                                    details={"field": "snapshot", "rule": "snapshot"})
    return snap["resources"]


def compare(snap: Any, state: ClusterState, ignore_placement: bool = False
            ) -> List[Dict[str, Any]]:
    """Differences between a snapshot and ``state``: one dict per changed resource.

    ``kind``: ``missing`` (gone from the CIB), ``new``, ``moved`` (other nodes),
    ``role_changed`` (same nodes, other roles). With ``ignore_placement`` only the count
    of instances per role is compared, so a service running elsewhere is no difference.
    """
    before = _check_snapshot(snap)
    after = snapshot(state)["resources"]
    diffs: List[Dict[str, Any]] = []
    for rid in sorted(set(before) | set(after)):
        was, now = dict(before.get(rid, {})), after.get(rid)
        if now is None:
            diffs.append({"resource": rid, "kind": "missing", "before": was, "after": None})
        elif rid not in before:
            diffs.append({"resource": rid, "kind": "new", "before": None, "after": now})
        elif ignore_placement:
            if Counter(was.values()) != Counter(now.values()):
                diffs.append({"resource": rid, "kind": "role_changed", "before": was,
                              "after": now})
        elif set(was) != set(now):
            diffs.append({"resource": rid, "kind": "moved", "before": was, "after": now})
        elif was != now:
            diffs.append({"resource": rid, "kind": "role_changed", "before": was,
                          "after": now})
    return diffs
