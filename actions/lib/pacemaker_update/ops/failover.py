"""Failover the seed's way (standby, verify, online, verify) and failback to a snapshot."""

from typing import Any, Dict, List, Optional

from ..errors import VerificationError
from ..safety.roles import is_promotable as _is_promotable
from ..safety.roles import moved_problems as _moved_problems
from ..safety.roles import primary_work_on as _primary_work_on
from ..safety.snapshot import compare
from ..state import ClusterState
from .base import (
    check_node,
    check_timeout,
    dialect_of,
    poll_until,
    read_state,
    run_change,
    timeout_of,
)
from .modes import _plan, set_node_standby
from .settle import wait_until_settled


def failover_from(ctx: Any, node: str, timeout: Optional[float] = None) -> Dict[str, Any]:
    """Move everything away from ``node``: standby, verify, online, verify they stay.

    ``moved``: resource -> nodes it runs on afterwards. Fails with VerificationError
    (RESOURCES_MOVED_BACK) when they return to ``node`` once it is online again (no
    resource-stickiness), because then the failover did not happen.
    """
    node = check_node(ctx, node)
    wait = check_timeout(timeout) or timeout_of(ctx)
    _, before = read_state(ctx)
    rids = _primary_work_on(before, node)
    if not rids:
        ctx.warn(f"{node} runs no primary resources: nothing to fail over")
    set_node_standby(ctx, node, True, wait)
    if not ctx.dry_run:
        poll_until(ctx, lambda s: _moved_problems(s, node, rids),
                   f"{', '.join(rids) or 'resources'} running away from {node}", wait)
    if ctx.dry_run:  # the node is not in standby now, so plan its return explicitly
        run_change(ctx, node, dialect_of(ctx).node_standby(node, False))
        return {"node": node, "resources": rids, "moved": {}, "planned": _plan(ctx)}
    set_node_standby(ctx, node, False, wait)
    wait_until_settled(ctx, wait, expect_online=[node])
    _, after = read_state(ctx)
    back = _moved_problems(after, node, rids)
    if back:
        raise VerificationError(
            f"resources returned to {node} once it was online again: {'; '.join(back)}",
            code="RESOURCES_MOVED_BACK", details={"node": node, "seen": back},
            hint="set resource-stickiness (e.g. rsc_defaults resource-stickiness=100) "
                 "so resources stay where they were moved")
    moved = {rid: list(after.promoted_nodes_of(rid) if _is_promotable(after, rid)
                       else after.active_nodes_of(rid)) for rid in rids}
    return {"node": node, "resources": rids, "moved": moved, "planned": []}


def _holders(snap: Dict[str, Any], state: ClusterState) -> List[str]:
    """Nodes now holding a primary resource the snapshot had elsewhere."""
    holders = set()
    for rid, placed in snap["resources"].items():
        wanted = {n for n, role in placed.items() if role in ("started", "promoted")}
        for res in state.resource_instances(rid):
            if res.clone is not None and res.role_kind != "promoted":
                continue
            for n in res.nodes:
                if n not in wanted and res.role_kind in ("started", "promoted"):
                    holders.add(n)
    return sorted(holders)


def failback(ctx: Any, snap: Dict[str, Any], timeout: Optional[float] = None
             ) -> Dict[str, Any]:
    """Fail over from the nodes that now hold what the snapshot had elsewhere; verify."""
    wait = check_timeout(timeout) or timeout_of(ctx)
    _, state = read_state(ctx)
    compare(snap, state)  # validates the snapshot before anything changes
    holders = _holders(snap, state)
    if not holders:
        ctx.warn("placement already matches the snapshot: nothing to fail back")
    steps = [failover_from(ctx, holder, wait) for holder in holders]
    if ctx.dry_run:
        return {"failed_over": holders, "differences": [], "planned": _plan(ctx)}
    _, state = read_state(ctx)
    diffs = [d for d in compare(snap, state) if d["resource"] in
             {r.id for r in state.resources if r.clone is None or r.is_promotable_clone}]
    primary = [d for d in diffs if not _only_unpromoted_change(d)]
    if primary:
        raise VerificationError("after failback the placement still differs from the "
                                "snapshot", details={"differences": primary})
    return {"failed_over": holders, "steps": steps, "differences": diffs, "planned": []}


def _only_unpromoted_change(diff: Dict[str, Any]) -> bool:
    """A promotable clone whose promoted node is where it was (unpromoted copies moved)."""
    def promoted(side: Any) -> List[str]:
        return sorted(n for n, r in (side or {}).items() if r == "promoted")
    return bool(promoted(diff["before"])) and promoted(diff["before"]) == promoted(diff["after"])
