"""Stopping/starting the cluster stack on one node, and restarting plain services.

Stop: ``systemctl stop pacemaker`` (+ ``corosync``) on the node; verified from another
node's crm_mon (the node is offline, nothing runs there) AND on the node itself
(``systemctl is-active pacemaker`` no longer answers "active"). Start: corosync then
pacemaker; verified by another node's crm_mon and the node's own crm_mon. Method 1 stops
the whole cluster on purpose (``whole_cluster``): the last node's stop and the first node's
start have no other node to be seen by, so systemctl and the node's own crm_mon decide.
"""

import threading
from typing import Any, Dict, List, Optional, Sequence

from ..commands.systemd import systemctl
from ..errors import (
    ClusterStateError,
    CommandFailedError,
    InvalidInputError,
    TransportError,
    VerificationError,
)
from ..state import ClusterState
from .base import (
    CLOCK,
    POLL_INTERVAL,
    UNANSWERED,
    check_node,
    check_timeout,
    is_unanswered,
    poll_until,
    read_state,
    run_change,
    run_read,
    timeout_of,
)
from .modes import _plan


def _others(ctx: Any, node: str) -> List[str]:
    return [n for n in ctx.cluster.node_names if n != node]


def _check_quorum_after_stop(state: ClusterState, node: str) -> None:
    online = [n.name for n in state.nodes if n.online is True and n.name != node]
    total = len(state.nodes)
    if not online:
        raise ClusterStateError(f"stopping {node} would leave no node running the service",
                                code="WOULD_LOSE_QUORUM", details={"online_others": online})
    if total > 2 and len(online) <= total // 2:
        raise ClusterStateError(
            f"stopping {node} would leave {len(online)} of {total} nodes: no quorum",
            code="WOULD_LOSE_QUORUM", details={"online_others": online, "total": total})


def stopped_problems(state: ClusterState, node: str) -> List[str]:
    """What keeps another node's crm_mon from showing ``node`` cleanly stopped."""
    item = state.node(node)
    if item is None:
        return []
    out = [] if item.online is False else [f"{node} online={item.online}"]
    return out + [f"{r.id} still {r.role} on {node}" for r in state.resources_on(node)
                  if r.role_kind != "stopped"]


def _wait_unit(ctx: Any, node: str, unit: str, active: bool, timeout: float) -> None:
    deadline = CLOCK.now() + timeout
    while True:
        res = run_read(ctx, node, systemctl("is-active", unit), timeout=30)
        if (res.rc == 0) is active:
            return
        if CLOCK.now() >= deadline:
            raise VerificationError(
                f"{unit} on {node} is not {'active' if active else 'stopped'} after "
                f"{timeout:g}s (systemctl is-active: rc {res.rc} {res.stdout.strip()!r})",
                details={"host": node, "unit": unit, "expected_active": active,
                         "rc": res.rc, "stdout": res.stdout[-200:]})
        CLOCK.sleep(POLL_INTERVAL)


def stop_pacemaker(ctx: Any, node: str, stop_corosync: bool = True,
                   timeout: Optional[float] = None,
                   whole_cluster: bool = False) -> Dict[str, Any]:
    """Stop the cluster stack on ``node``; the other nodes keep quorum and the service.

    ``whole_cluster`` (method 1 only: the whole cluster is stopped on purpose, node after
    node) lifts the keep-quorum/keep-the-service refusal; the last node's stop is then
    verified with systemctl alone, as no other node runs crm_mon any more.
    """
    node, timeout = check_node(ctx, node), check_timeout(timeout)
    _check_flag(whole_cluster, "whole_cluster")
    wait = timeout or timeout_of(ctx)
    state = _state_for_stop(ctx, node, whole_cluster)
    item = state.node(node) if state is not None else None
    if item is not None and item.online is False:
        ctx.warn(f"pacemaker on {node} is already stopped (crm_mon of another node)")
    elif not whole_cluster and state is not None:
        _check_quorum_after_stop(state, node)
    others_up = [] if state is None else \
        [n.name for n in state.nodes if n.online is True and n.name != node]
    units = ["pacemaker"] + (["corosync"] if stop_corosync else [])
    for unit in units:
        run_change(ctx, node, systemctl("stop", unit), timeout=wait)
    if ctx.dry_run:
        return {"node": node, "stopped": units, "planned": _plan(ctx)}
    online: List[str] = []
    if others_up:
        state = poll_until(ctx, lambda s: stopped_problems(s, node), f"{node} offline, no "
                           "resources on it", wait, exclude=[node])
        online = list(state.online_nodes())
    for unit in units:
        _wait_unit(ctx, node, unit, False, wait)
    return {"node": node, "stopped": units, "planned": [], "online_nodes": online}


def _state_for_stop(ctx: Any, node: str, whole_cluster: bool) -> Optional[ClusterState]:
    """crm_mon's view for a stop; None when the whole cluster is being stopped on purpose and
    no node answers crm_mon any more (every node already stopped, e.g. a stop re-run after
    the runner was killed): the stop is then done and verified with systemctl alone."""
    try:
        return read_state(ctx, prefer=_others(ctx, node))[1]
    except CommandFailedError as exc:
        if not whole_cluster or exc.code != "STATUS_UNAVAILABLE":
            raise
    ctx.warn(f"no node answers crm_mon (the whole cluster is stopped or stopping): the stop "
             f"of {node} is verified with systemctl on the node itself")
    return None


def _check_flag(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be true or false, got {value!r}",
                                details={"field": name, "value": repr(value)[:80]})


def started_problems(state: ClusterState, node: str) -> List[str]:
    """What keeps crm_mon from showing ``node`` online as a member."""
    item = state.node(node)
    if item is None:
        return [f"{node} not listed"]
    return [] if item.online is True and item.pending is not True else \
        [f"{node} online={item.online} pending={item.pending}"]


def start_pacemaker(ctx: Any, node: str, timeout: Optional[float] = None) -> Dict[str, Any]:
    """Start corosync and pacemaker on ``node``; online in others' and its own crm_mon."""
    node, timeout = check_node(ctx, node), check_timeout(timeout)
    wait = timeout or timeout_of(ctx)
    for unit in ("corosync", "pacemaker"):
        run_change(ctx, node, systemctl("start", unit), timeout=wait)
    if ctx.dry_run:
        return {"node": node, "started": ["corosync", "pacemaker"], "planned": _plan(ctx)}
    others = _others(ctx, node)
    try:
        poll_until(ctx, lambda s: started_problems(s, node), f"{node} online", wait,
                   exclude=[node] if others else [])
    except (TransportError, CommandFailedError):
        # no other node runs crm_mon: the first node started after a whole-cluster stop
        # (method 1) has nobody to be seen by; its own crm_mon (below) decides
        ctx.warn(f"no other node answers crm_mon: {node} verified by its own crm_mon")
    _wait_own_view(ctx, node, CLOCK.now() + wait)
    return {"node": node, "started": ["corosync", "pacemaker"], "planned": []}


def _wait_own_view(ctx: Any, node: str, deadline: float) -> None:
    """Poll ``node``'s own crm_mon until it shows itself online (VerificationError at
    ``deadline``): the node's controller joined, not only the others saw its corosync."""
    from .base import _read_state

    while True:
        try:
            own = started_problems(_read_state(ctx, node), node)
        except Exception as exc:  # noqa: BLE001 - the controller may still be starting
            own = [f"crm_mon on {node} itself: {exc}"]
        if not own:
            return
        if CLOCK.now() >= deadline:
            raise VerificationError(f"{node}'s own crm_mon does not show it online: "
                                    f"{'; '.join(own)}", details={"host": node, "seen": own})
        CLOCK.sleep(POLL_INTERVAL)


def start_cluster(ctx: Any, nodes: Sequence[str], timeout: Optional[float] = None
                  ) -> Dict[str, Any]:
    """Start corosync and pacemaker on every node of ``nodes`` at once (each node: corosync,
    then pacemaker), then verify each online in a running member's crm_mon and in its own
    (method 1).

    Why not start_pacemaker node after node: after a whole-cluster stop, a node started
    alone is seen online only once it elected itself DC, which waits dc-deadtime (20 s by
    default, 3 s in the lab: 5.4-6.2 s measured) for peers that are still down; started
    together they form one membership at once, as a person starting the cluster does
    (`pcs cluster start --all` starts the nodes in parallel too). Started at once rather
    than back to back, the last node is not held up by the others' starts (0.5 s each in
    the lab), which the service's outage would pay. Each node gets start_pacemaker's two
    checks, so nothing is verified less. A dry run plans the starts in ``nodes`` order.
    """
    names = [check_node(ctx, n) for n in nodes] if isinstance(nodes, (list, tuple)) else []
    if not names or len(set(names)) != len(names):
        raise InvalidInputError("nodes must be a non-empty list of distinct node names",
                                details={"nodes": repr(nodes)[:200]})
    timeout = check_timeout(timeout)
    wait = timeout or timeout_of(ctx)
    if ctx.dry_run:
        for node in names:
            _start_stack(ctx, node, wait)
        return {"nodes": names, "started": ["corosync", "pacemaker"], "planned": _plan(ctx)}
    _start_all(ctx, names, wait)
    deadline = CLOCK.now() + wait
    _poll_started_together(ctx, names, deadline, wait)
    for node in names:
        _wait_own_view(ctx, node, deadline)
    return {"nodes": names, "started": ["corosync", "pacemaker"], "planned": []}


def _start_stack(ctx: Any, node: str, wait: float) -> None:
    for unit in ("corosync", "pacemaker"):
        run_change(ctx, node, systemctl("start", unit), timeout=wait)


def _start_all(ctx: Any, names: List[str], wait: float) -> None:
    """Every node's start in its own thread (each bounded by ``wait``); once all ended, the
    first failure in ``names`` order is raised. A failed node does not stop the others'
    starts: they were all asked for, as with `pcs cluster start --all`."""
    failures: Dict[str, BaseException] = {}

    def start_one(node: str) -> None:
        try:
            _start_stack(ctx, node, wait)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            failures[node] = exc

    threads = [threading.Thread(target=start_one, args=(n,), name=f"start-{n}", daemon=True)
               for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for node in names:
        if node in failures:
            raise failures[node]


def _poll_started_together(ctx: Any, names: List[str], deadline: float, wait: float) -> None:
    """poll_until every node of ``names`` shows online; while all of them are still starting,
    no crm_mon may answer yet ("Could not connect to the CIB"): keep asking until
    ``deadline`` instead of failing on the first unanswered read."""
    expected = f"{', '.join(names)} online"
    while True:
        try:
            poll_until(ctx, lambda s: [p for n in names for p in started_problems(s, n)],
                       expected, max(0.0, deadline - CLOCK.now()))
            return
        except UNANSWERED as exc:
            if not is_unanswered(exc):
                raise
            if CLOCK.now() >= deadline:
                raise VerificationError(
                    f"after {wait:g}s no started node answers crm_mon ({exc.code}: "
                    f"{exc.message})", details={"expected": expected, "nodes": names,
                                                "last_error": exc.code}) from exc
        CLOCK.sleep(POLL_INTERVAL)


def restart_services(ctx: Any, node: str, services: Sequence[str],
                     timeout: Optional[float] = None) -> Dict[str, Any]:
    """``systemctl restart`` each unit in order; each must be active again (verified)."""
    node, timeout = check_node(ctx, node), check_timeout(timeout)
    wait = timeout or timeout_of(ctx)
    argvs = [systemctl("restart", unit) for unit in services]  # validates every unit first
    if not argvs:
        ctx.warn("no services given: nothing restarted")
    for unit, argv in zip(services, argvs):
        run_change(ctx, node, argv, timeout=wait)
        if not ctx.dry_run:
            _wait_unit(ctx, node, unit, True, wait)
    return {"node": node, "restarted": [] if ctx.dry_run else list(services),
            "planned": _plan(ctx)}
