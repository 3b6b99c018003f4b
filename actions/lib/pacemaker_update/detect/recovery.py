"""After an unexpected failover paused a run: give the service back its last node.

The gap (found by the fault tests): the primary crashes while the run has the secondary in
standby for its update. The run pauses, as it must, but the secondary stays in standby, so
no node may run the service and it stays down until a person acts. What an experienced
operator does: if the node the run put in standby is the only node left that could run
the service, and its package step has not started or has completed (never in the middle
of an install), bring it back online so Pacemaker recovers the service there, and leave
everything else to a person. Nothing else is changed: the run stays paused, no other node
is touched, nothing is updated.

``node_progress`` reads the run's task rows (pure), ``decide_recovery`` judges one crm_mon
state (pure), ``recover_service`` does it (crm_mon, an expected-moves ledger entry, the
verified ``online``, crm_mon again) and returns what was done and where every node is.
"""

import contextlib
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from pacemaker_update.state import ClusterState

STANDBY_ACTION = "pacemaker_update.set_node_standby"
PACKAGES_ACTION = "pacemaker_update.update_packages"
NOT_STARTED, COMPLETED, RUNNING, UNCERTAIN = "not started", "completed", "running", "uncertain"
ONLINE, NOTHING, BLOCKED = "online", "nothing", "blocked"


def node_progress(tasks: Iterable[Mapping[str, Any]]) -> Tuple[Optional[str], str]:
    """(node the run left in standby or None, state of that node's package step).

    ``tasks`` are the run's task rows (root and subworkflows) in the order they started;
    the node is the last one a succeeded ``set_node_standby(enabled=true)`` put in standby
    that no later succeeded ``set_node_standby(enabled=false)`` brought back. Its package
    step: no ``update_packages`` for it since -> not started; the last one succeeded ->
    completed; still running -> running; failed, timed out, canceled -> uncertain.
    """
    node: Optional[str] = None
    step = NOT_STARTED
    for row in tasks:
        raw = row.get("input")
        params: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        target, status = params.get("node"), row.get("status")
        if row.get("action") == STANDBY_ACTION and status == "succeeded":
            if params.get("enabled") in (True, "true", "True"):
                node, step = str(target), NOT_STARTED
            elif target == node:
                node = None
        elif row.get("action") == PACKAGES_ACTION and node is not None and target == node:
            step = {"succeeded": COMPLETED, "running": RUNNING}.get(str(status), UNCERTAIN)
    return node, step


def _able(state: ClusterState, name: str) -> bool:
    node = state.node(name)
    return bool(node is not None and node.online and not node.standby
                and not node.maintenance and not node.unclean)


def decide_recovery(state: Optional[ClusterState], node: Optional[str], package_step: str
                    ) -> Dict[str, Any]:
    """What to do about ``node`` (left in standby by the run) in ``state``; pure.

    ``action``: ``online`` (bring it back: it is the only node left able to run the
    service, a node was lost, the cluster has quorum and its package step is not
    underway), ``blocked`` (it would be the one, but its package step is not safe) or
    ``nothing``; ``reason`` says why in words.
    """
    if node is None or state is None:
        return {"action": NOTHING, "node": node, "reason": "this run has no node in standby"}
    item = state.node(node)
    out: Dict[str, Any] = {"node": node, "package_step": package_step}
    lost = [n.name for n in state.nodes if n.name != node and (not n.online or n.unclean)]
    able = [n.name for n in state.nodes if n.name != node and _able(state, n.name)]
    why = None
    if item is None or not item.online or item.unclean:
        why = f"{node} is not online itself"
    elif not item.standby:
        why = f"{node} is not in standby"
    elif item.maintenance:
        why = f"{node} is in maintenance"
    elif able:
        why = f"{', '.join(able)} can run the service: Pacemaker recovers it there"
    elif not lost:
        why = "no node was lost"
    elif not state.summary.have_quorum:
        why = "the cluster has no quorum: Pacemaker would not start the service anywhere"
    if why is not None:
        return dict(out, action=NOTHING, reason=why)
    if package_step not in (NOT_STARTED, COMPLETED):
        return dict(out, action=BLOCKED, lost=lost, reason=(
            f"{node} is the only node left to run the service, but its package step is "
            f"{package_step}: a node is never brought back in the middle of an install"))
    return dict(out, action=ONLINE, lost=lost, reason=(
        f"{', '.join(lost)} lost and {node} (in standby for this run, package step "
        f"{package_step}) was the only node left able to run the service"))


def where_nodes(state: ClusterState) -> Dict[str, str]:
    """node -> "online", "OFFLINE", with " + standby" / " + maintenance" (as the CLI says)."""
    out = {}
    for node in state.nodes:
        flags = [f for f in ("standby", "maintenance") if getattr(node, f)]
        out[node.name] = ("online" if node.online and not node.unclean else "OFFLINE") + (
            " + " + " + ".join(flags) if flags else "")
    return out


def run_tasks(store: Any, run_id: str) -> List[Dict[str, Any]]:
    """Task rows of a run and all its subworkflow runs, in the order they started."""
    rows: List[Dict[str, Any]] = []
    pending = [run_id]
    while pending:
        current = pending.pop()
        rows.extend(store.list_tasks(current))
        pending.extend(child["id"] for child in store.child_runs(current))
    return sorted(rows, key=lambda r: (r.get("started_at") or 0.0, r.get("seq") or 0))


def service_down(state: ClusterState) -> List[str]:
    """Managed resources (outside clones) that run nowhere: what the service is missing."""
    return sorted({r.id for r in state.resources if r.clone is None and r.managed is not False
                   and (r.role_kind == "stopped" or not r.nodes)})


def recover_service(cluster: Any, ledger: Any, run_id: str,
                    tasks: Iterable[Mapping[str, Any]], wait_timeout: float = 60.0,
                    context_factory: Any = None) -> Dict[str, Any]:
    """Decide and, when it is safe, bring the run's standby node back online (verified).

    The ``online`` is announced in ``ledger`` (operation ``unstandby``, step
    ``recover_online_<node>`` of ``run_id``) so no watcher calls its moves unexpected, and
    closed once crm_mon shows it. Returns the decision with ``done``, ``nodes`` (where every
    node is afterwards), ``down`` (resources still running nowhere) and ``message``.
    """
    from pacemaker_update.actionbase import ActionContext

    node, step = node_progress(tasks)
    if node is None:  # nothing this run could give back: no need to read the cluster
        decision = decide_recovery(None, None, step)
    else:
        ctx = (context_factory or (lambda: ActionContext(cluster, timeout=30)))()
        try:
            decision = _recover(ctx, cluster, ledger, run_id, node, step, wait_timeout)
        finally:
            ctx.close()
    decision["message"] = recovery_message(decision)
    return decision


def _recover(ctx: Any, cluster: Any, ledger: Any, run_id: str, node: str, step: str,
             wait_timeout: float) -> Dict[str, Any]:
    """Read crm_mon, decide, act when the decision says so; the decision with the state."""
    from pacemaker_update.errors import PacemakerUpdateError
    from pacemaker_update.ops.base import read_state

    try:
        _, state = read_state(ctx)
    except PacemakerUpdateError as exc:
        return {"action": NOTHING, "node": node, "package_step": step,
                "reason": f"could not read the cluster: {exc.message}"}
    decision = decide_recovery(state, node, step)
    if decision["action"] == ONLINE:
        state = _bring_online(ctx, cluster, ledger, run_id, decision, wait_timeout, state)
    decision.update(nodes=where_nodes(state), down=service_down(state),
                    placement={k: list(v) for k, v in state.placement().items()})
    return decision


def _bring_online(ctx: Any, cluster: Any, ledger: Any, run_id: str, decision: Dict[str, Any],
                  wait_timeout: float, state: ClusterState) -> ClusterState:
    """Ledger entry, verified online, the service waited for, entry closed; the new state."""
    from pacemaker_update.detect.ledger import new_entry
    from pacemaker_update.errors import PacemakerUpdateError
    from pacemaker_update.ops.base import read_state
    from pacemaker_update.ops.modes import set_node_standby

    node = str(decision["node"])
    try:  # announced first, or not done at all: a watcher must not pause on our own move
        entry = ledger.open(new_entry(cluster.name, run_id, f"recover_online_{node}",
                                      "unstandby", node, ttl=max(300.0, wait_timeout * 3),
                                      note="service recovery after an unexpected failover"))
    except PacemakerUpdateError as exc:
        decision.update(done=False, error=f"the expected-moves ledger could not record it: "
                                          f"{exc.message}")
        return state
    decision["ledger_entry"] = entry.id
    try:
        set_node_standby(ctx, node, False, timeout=wait_timeout)
        decision["done"] = True
        state = _wait_service(ctx, state, wait_timeout, read_state)
    except PacemakerUpdateError as exc:
        decision.update(done=False, error=exc.message)
    finally:
        with contextlib.suppress(PacemakerUpdateError):  # it expires by its ttl otherwise
            ledger.close(cluster.name, entry.id)
    with contextlib.suppress(PacemakerUpdateError):
        _, state = read_state(ctx)
    return state


def _wait_service(ctx: Any, state: ClusterState, timeout: float, read: Any) -> ClusterState:
    """Until nothing of the service runs nowhere (Pacemaker started it), or ``timeout``."""
    import time
    deadline = time.monotonic() + timeout
    while service_down(state) and time.monotonic() < deadline:
        time.sleep(1.0)
        _, state = read(ctx)
    return state


def recovery_message(decision: Mapping[str, Any]) -> str:
    """One paragraph for the report: what was done, why, where every node is now."""
    node, action = decision.get("node"), decision.get("action")
    nodes = decision.get("nodes") or {}
    where = "; nodes now: " + ", ".join(f"{n} {s}" for n, s in sorted(nodes.items())) \
        if nodes else ""
    down = decision.get("down")
    service = (f"; still running nowhere: {', '.join(down)}" if down else
               "; every resource of the service runs again" if down == [] else "")
    if action == ONLINE and decision.get("done"):
        return (f"service recovery: {node} brought back online ({decision['reason']}; ledger "
                f"entry {decision.get('ledger_entry')}){service}{where}. The run stays "
                f"paused: do not resume it (it would go on updating while {node} alone runs "
                f"the service); cancel it and start a new update once the lost node is back")
    if action == ONLINE and not decision.get("ledger_entry"):
        return (f"service recovery NOT done: {decision.get('error')}; {node} left in standby"
                f"{service}{where}. Bring it online by hand (crm node online {node}) or run "
                "rollback")
    if action == ONLINE:
        return (f"service recovery FAILED: bringing {node} online did not verify "
                f"({decision.get('error')}){service}{where}. Bring it online by hand "
                f"(crm node online {node}) or run rollback")
    if action == BLOCKED:
        return (f"service recovery NOT done: {decision['reason']}; {node} left in standby"
                f"{service}{where}. Check {node}'s packages, then bring it online by hand "
                f"(crm node online {node}) or run rollback")
    return f"no service recovery: {decision.get('reason')}{where}"
