"""Waiting until the cluster is settled, and resource cleanup/refresh.

"Settled" is never "the command returned". It needs, in this order:
1. crm_mon shows a settled state (safety.settle: nodes expected online are, nothing
   Starting/Stopping/Migrating, target roles met, nothing managed left on a standby node);
2. no pending transition (crm_mon cannot show a transition that is computed but not yet
   started): the scheduler, run on the live CIB, has no action left to do. This is what
   ``crm_resource --wait`` checks, but 2.x's --wait sleeps 2 s before its first check
   (wait_till_stable, WAIT_SLEEP_S; measured 2.02 s on an idle lab cluster), so the same
   check is made with ``crm_simulate --live-check --simulate --output-as=xml`` (~0.03 s,
   read by safety.settle.pending_transition); where that output cannot be judged
   (Pacemaker < 2.1, an error) ``crm_resource --wait`` itself is asked, as before;
3. a second crm_mon read is settled and identical to the first.
Any change in between starts the round again, until the timeout.

In maintenance (cluster-wide or of a node) ``crm_resource --wait`` never returns 0: the
scheduler keeps proposing the cancelled recurring monitors (seen on 2.1.5). There, step 2
is replaced by a quiet window: the state must stay identical for STABLE_WINDOW seconds
(probes after a refresh take well under a second in the lab). That is weaker evidence,
which is why the window is generous.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import VerificationError, WaitTimeoutError
from ..safety.roles import moved_problems
from ..safety.settle import fingerprint, pending_transition, unsettled_reasons
from .base import (
    CLOCK,
    POLL_INTERVAL,
    UNANSWERED,
    is_unanswered,
    node_view,
    read_state,
    run_change,
    run_read,
    timeout_of,
)

Progress = Optional[Callable[[Dict[str, Any]], None]]


SIMULATE_LIVE = ["crm_simulate", "--live-check", "--simulate", "--output-as=xml"]


def _wait_argv(seconds: float) -> List[str]:
    return ["crm_resource", "--wait", f"--timeout={max(1, int(seconds))}s"]


def _pending(ctx: Any, node: str, deadline: float) -> List[str]:
    """Step 2 of the module doc: [] when no transition is pending, else why."""
    sim = run_read(ctx, node, SIMULATE_LIVE, timeout=60)
    pending = pending_transition(sim.stdout or "") if sim.rc == 0 else None
    if pending is not None:
        return [f"a transition is still pending: {'; '.join(pending[:5])}"] if pending else []
    left = max(1.0, deadline - CLOCK.now())
    idle = run_read(ctx, node, _wait_argv(left), timeout=left + 15)
    return [] if idle.rc == 0 else \
        [f"a transition is still pending (crm_resource --wait rc {idle.rc})"]


STABLE_WINDOW = 2.0


def _in_maintenance(state: Any) -> bool:
    return state.summary.maintenance_mode is True or bool(state.maintenance_nodes())


def _confirm(ctx: Any, node: str, state: Any, deadline: float) -> Any:
    """Steps 2 and 3 of the module doc: ([] or reasons, node, latest state)."""
    if _in_maintenance(state):
        CLOCK.sleep(STABLE_WINDOW)
        node2, again = read_state(ctx, prefer=[node])
        if fingerprint(again) != fingerprint(state):
            return ["the state changed during the quiet window (maintenance)"], node2, again
        return [], node2, again
    try:
        pending = _pending(ctx, node, deadline)
    except UNANSWERED as exc:
        if not is_unanswered(exc):
            raise
        # the node whose crm_mon was just read stopped answering (crashed, cut off): judge
        # the cluster from another node rather than fail the wait; the next look starts there
        ctx.warn(f"cannot ask {node} for pending transitions ({exc.code})")
        node2, again = read_state(ctx, exclude=[node])
        return [f"{node} stopped answering ({exc.code})"], node2, again
    if pending:
        return pending, node, state
    node2, again = read_state(ctx, prefer=[node])
    if fingerprint(again) != fingerprint(state):
        return ["the state changed between two reads"], node2, again
    return [], node2, again


def _check_moved(state: Any, node: str, away_from: Optional[str], moved: Sequence[str]) -> None:
    """RESOURCES_NOT_MOVED when a settled cluster does not run ``moved`` off ``away_from``."""
    missing = moved_problems(state, away_from, list(moved)) if away_from is not None else []
    if missing:
        raise VerificationError(
            f"the cluster settled, but what ran on {away_from} does not run on another node: "
            f"{'; '.join(missing)}", code="RESOURCES_NOT_MOVED",
            details={"away_from": away_from, "missing": missing, "read_from": node,
                     "nodes": node_view(state)},
            hint="see crm_mon -rfA1 (a resource that failed to start elsewhere stays "
                 "stopped); fix its cause, then run the rollback")


def wait_until_settled(ctx: Any, timeout: Optional[float] = None,
                       expect_online: Optional[Sequence[str]] = None,
                       progress: Progress = None, away_from: Optional[str] = None,
                       moved: Sequence[str] = ()) -> Dict[str, Any]:
    """Block until settled (see module doc); WaitTimeoutError with what is still moving.

    ``expect_online``: nodes that must be online (None = every configured node).
    ``away_from`` + ``moved``: resources that ran on ``away_from`` (e.g. before its
    standby) and must now be active (promoted, for a promotable clone) on another node.
    Settled alone would not say so: a resource with no explicit target-role that failed
    to start elsewhere stays Stopped, and the cluster is settled all the same. Once settled
    (nothing pending, so nothing will change by itself) a missing one fails at once
    (RESOURCES_NOT_MOVED) instead of waiting for the timeout.
    ``progress`` gets ``{settled, reasons, remaining}`` after every unsettled look.
    """
    wait = timeout or timeout_of(ctx, 300.0)
    expected = list(ctx.cluster.node_names if expect_online is None else expect_online)
    start = CLOCK.now()
    deadline = start + wait
    rounds = 0
    node, state = read_state(ctx)
    while True:
        rounds += 1
        reasons = unsettled_reasons(state, expected)
        if not reasons:
            reasons, node, state = _confirm(ctx, node, state, deadline)
            if not reasons:
                _check_moved(state, node, away_from, moved)
                ctx.state_after = {"read_from": node, "nodes": node_view(state)}
                return {"settled": True, "seconds": round(CLOCK.now() - start, 2),
                        "rounds": rounds, "read_from": node}
        remaining = deadline - CLOCK.now()
        if progress is not None:
            progress({"settled": False, "reasons": reasons, "remaining": max(0.0, remaining)})
        if remaining <= 0:
            raise WaitTimeoutError(
                f"cluster not settled after {wait:g}s: {'; '.join(reasons)}",
                details={"reasons": reasons, "nodes": node_view(state), "read_from": node,
                         "timeout": wait, "rounds": rounds})
        CLOCK.sleep(min(POLL_INTERVAL, remaining))
        node, state = read_state(ctx, prefer=[node])


def _history_op(ctx: Any, action: str, resource: Optional[str], node: Optional[str],
                timeout: Optional[float]) -> Dict[str, Any]:
    from .base import dialect_of

    dialect = dialect_of(ctx)
    argv = (dialect.resource_cleanup if action == "cleanup" else dialect.resource_refresh)(
        resource=resource, node=node)
    control, _ = read_state(ctx, prefer=[node] if node else [])
    run_change(ctx, control, argv)
    if ctx.dry_run:
        return {"resource": resource, "node": node, "planned": [{"host": control,
                                                                 "argv": argv}]}
    settled = wait_until_settled(ctx, timeout, expect_online=[])
    _, state = read_state(ctx)
    left = [f.op_key + "@" + str(f.node) for f in state.failures
            if (resource is None or f.resource == resource or
                any(r.belongs_to(resource) and r.id == f.resource for r in state.resources))
            and (node is None or f.node == node)]
    if left:
        raise WaitTimeoutError(f"failed actions still recorded after {action}: "
                               f"{', '.join(left)}", code="VERIFICATION_FAILED",
                               details={"failures": left})
    return {"resource": resource, "node": node, "settled": settled}


def cleanup_resources(ctx: Any, resource: Optional[str] = None, node: Optional[str] = None,
                      timeout: Optional[float] = None) -> Dict[str, Any]:
    """Forget failed operations (``crm resource cleanup`` / ``pcs resource cleanup``), verified."""
    return _history_op(ctx, "cleanup", resource, node, timeout)


def refresh_resources(ctx: Any, resource: Optional[str] = None, node: Optional[str] = None,
                      timeout: Optional[float] = None) -> Dict[str, Any]:
    """Forget the operation history and re-probe, then wait until settled, verified."""
    return _history_op(ctx, "refresh", resource, node, timeout)

