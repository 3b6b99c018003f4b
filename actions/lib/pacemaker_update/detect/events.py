"""Cluster events: what changed between two crm_mon snapshots, in words a person reads.

``diff_states(before, after, cluster, at)`` is pure: it compares two :class:`ClusterState`
and returns one :class:`Event` per change that matters to a running update. Resource
changes are computed per primitive id over its active instances (node -> role), so
anonymous clone instances, groups and promotable clones are all handled the same way:

- one instance left node A and one arrived on B  -> ``resource_moved`` (from A to B)
- an instance left A (nothing arrived)           -> ``resource_stopped`` (from A)
- an instance arrived on B (nothing left)        -> ``resource_started`` (to B)
- same node, role promoted <-> unpromoted        -> ``role_changed`` (promote / demote)

Every event has ``from_node`` (where something left or was reduced) and ``to_node``
(where something arrived): the ledger judges moves by these two fields only.
"""

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, List, Optional, Set, Tuple

from pacemaker_update.state import ClusterState, Resource

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"

#: kind -> severity. ``info`` events never raise unexpected_failover.
KINDS: Dict[str, str] = {
    "resource_moved": WARNING,
    "resource_stopped": WARNING,
    "resource_started": INFO,
    "role_changed": WARNING,
    "resource_failed": CRITICAL,
    "failed_action": CRITICAL,
    "node_offline": WARNING,
    "node_unclean": CRITICAL,
    "node_online": INFO,
    "node_standby": WARNING,
    "node_unstandby": INFO,
    "node_maintenance": WARNING,
    "node_ready": INFO,
    "cluster_maintenance": WARNING,
    "cluster_ready": INFO,
    "quorum_lost": CRITICAL,
    "quorum_regained": INFO,
    "dc_changed": INFO,
    "fencing": CRITICAL,
}


@dataclass(frozen=True)
class Event:
    """One change seen in a cluster; ``expected``/``ledger_entry`` are set by ``classify``."""

    kind: str
    cluster: str
    message: str
    at: str
    severity: str = WARNING
    resource: Optional[str] = None
    parent: Optional[str] = None
    node: Optional[str] = None
    from_node: Optional[str] = None
    to_node: Optional[str] = None
    role_before: Optional[str] = None
    role_after: Optional[str] = None
    state_time: Optional[str] = None
    source: str = "poll"
    expected: bool = False
    ledger_entry: Optional[str] = None

    @property
    def alarming(self) -> bool:
        """Whether this event, when not expected, is an unexpected failover/loss."""
        return self.severity != INFO and not self.expected

    def fingerprint(self) -> str:
        """Identity of the change itself (not of when it was seen): for de-duplication."""
        parts = (self.cluster, self.kind, self.resource, self.from_node, self.to_node)
        return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:16]  # noqa: S324

    def to_payload(self) -> Dict[str, Any]:
        """The event as a trigger payload (plain JSON types, fingerprint included)."""
        out = asdict(self)
        out["id"] = self.fingerprint()
        return out


def make_event(kind: str, cluster: str, at: str, message: str, **fields: Any) -> Event:
    """Build an Event with the severity of its kind."""
    return Event(kind=kind, cluster=cluster, at=at, message=message,
                 severity=KINDS.get(kind, WARNING), **fields)


Placement = Dict[str, Dict[str, str]]  # resource id -> node -> role kind


def _placement(state: ClusterState) -> Tuple[Placement, Dict[str, Resource]]:
    out: Placement = {}
    first: Dict[str, Resource] = {}
    for res in state.resources:
        first.setdefault(res.id, res)
        slot = out.setdefault(res.id, {})
        if res.active is False:
            continue
        for node in res.nodes:
            slot[node] = res.role_kind or "started"
    return out, first


def _parent(res: Optional[Resource]) -> Optional[str]:
    if res is None:
        return None
    return res.group or res.clone or res.bundle


def _in_maintenance(state: ClusterState, node: str) -> bool:
    """Cluster-wide maintenance-mode, or ``node`` itself in maintenance."""
    item = state.node(node)
    return state.summary.maintenance_mode is True or (
        item is not None and item.maintenance is True)


def _unmanaged_at(state: ClusterState, rid: str, node: str) -> bool:
    """Whether Pacemaker leaves ``rid`` alone on ``node`` in ``state``: maintenance (of the
    cluster or the node), or the instance there unmanaged."""
    return _in_maintenance(state, node) or any(
        res.managed is False for res in state.resources if res.id == rid and node in res.nodes)


def _quiet(event: Event, before: ClusterState, after: ClusterState) -> bool:
    """An event about a resource Pacemaker does not manage on every node the event names:
    unmanaged after, and before too -- or maintenance was entered between the two snapshots
    (one poll can see the step into maintenance and the exit guard's re-probe together)."""
    nodes = {n for n in (event.from_node, event.to_node, event.node) if n}
    rid = event.resource or ""
    return bool(nodes) and all(
        _unmanaged_at(after, rid, n) and (_unmanaged_at(before, rid, n)
                                          or _in_maintenance(after, n))
        for n in nodes)


UNMANAGED_NOTE = (" (unmanaged: Pacemaker neither stops nor moves it; a re-probe or the "
                  "operator's own work shows here, and the maintenance-exit guard compares "
                  "it before Pacemaker manages it again)")


def diff_resources(before: ClusterState, after: ClusterState, cluster: str,
                   at: str) -> List[Event]:
    """Moves, stops, starts and role changes of every primitive between two states.

    A change of a resource that is unmanaged in both states (maintenance) is reported as
    information, never as an unexpected failover: Pacemaker did not cause it (the
    maintenance-exit guard's re-probe briefly shows such resources stopped, and an update
    may restart an unmanaged service on purpose).
    """
    old, old_res = _placement(before)
    new, new_res = _placement(after)
    events: List[Event] = []
    for rid in sorted(set(old) | set(new)):
        parent = _parent(new_res.get(rid) or old_res.get(rid))
        found = _resource_events(rid, parent, old.get(rid, {}), new.get(rid, {}), cluster, at)
        events.extend(replace(e, severity=INFO, message=e.message + UNMANAGED_NOTE)
                      if _quiet(e, before, after) else e for e in found)
    return events


def _resource_events(rid: str, parent: Optional[str], old: Dict[str, str],
                     new: Dict[str, str], cluster: str, at: str) -> List[Event]:
    left = sorted(set(old) - set(new))
    arrived = sorted(set(new) - set(old))
    events: List[Event] = []
    base = {"resource": rid, "parent": parent}
    while left and arrived:
        src, dst = left.pop(0), arrived.pop(0)
        events.append(make_event(
            "resource_moved", cluster, at, f"{rid} moved from {src} to {dst}",
            from_node=src, to_node=dst, node=dst, role_before=old[src], role_after=new[dst],
            **base))
    for src in left:
        events.append(make_event("resource_stopped", cluster, at, f"{rid} stopped on {src}",
                                 node=src, from_node=src, role_before=old[src],
                                 role_after="stopped", **base))
    for dst in arrived:
        events.append(make_event("resource_started", cluster, at, f"{rid} started on {dst}",
                                 node=dst, to_node=dst, role_before="stopped",
                                 role_after=new[dst], **base))
    for node in sorted(set(old) & set(new)):
        events.extend(_role_event(rid, base, node, old[node], new[node], cluster, at))
    return events


def _role_event(rid: str, base: Dict[str, Any], node: str, was: str, now: str,
                cluster: str, at: str) -> List[Event]:
    if was == now or "promoted" not in (was, now):
        return []
    if now == "promoted":
        return [make_event("role_changed", cluster, at, f"{rid} promoted on {node}",
                           node=node, to_node=node, role_before=was, role_after=now, **base)]
    return [make_event("role_changed", cluster, at, f"{rid} demoted on {node}",
                       node=node, from_node=node, role_before=was, role_after=now, **base)]


NODE_FLAGS = (
    # attribute, kind when it became true, kind when it became false
    ("standby", "node_standby", "node_unstandby"),
    ("maintenance", "node_maintenance", "node_ready"),
)


def diff_nodes(before: ClusterState, after: ClusterState, cluster: str, at: str) -> List[Event]:
    """Nodes that went offline / unclean / standby / maintenance, or came back."""
    events: List[Event] = []
    for node in after.nodes:
        was = before.node(node.name)
        if was is None:
            continue
        if node.unclean is True and was.unclean is not True:
            events.append(make_event("node_unclean", cluster, at,
                                     f"node {node.name} is UNCLEAN (lost without a clean "
                                     "stop: crash or network loss)",
                                     node=node.name, from_node=node.name))
        elif node.online is False and was.online is True:
            events.append(make_event("node_offline", cluster, at,
                                     f"node {node.name} went offline",
                                     node=node.name, from_node=node.name))
        elif node.online is True and was.online is False:
            events.append(make_event("node_online", cluster, at, f"node {node.name} is online",
                                     node=node.name, to_node=node.name))
        for attr, on_kind, off_kind in NODE_FLAGS:
            now_v, was_v = getattr(node, attr), getattr(was, attr)
            if now_v is True and was_v is False:
                events.append(make_event(on_kind, cluster, at, f"node {node.name} {attr} on",
                                         node=node.name, from_node=node.name))
            elif now_v is False and was_v is True:
                events.append(make_event(off_kind, cluster, at, f"node {node.name} {attr} off",
                                         node=node.name, to_node=node.name))
    return events


def diff_summary(before: ClusterState, after: ClusterState, cluster: str,
                 at: str) -> List[Event]:
    """Quorum, DC and cluster-wide maintenance-mode changes."""
    b, a = before.summary, after.summary
    events: List[Event] = []
    if a.have_quorum is False and b.have_quorum is True:
        events.append(make_event("quorum_lost", cluster, at,
                                 f"quorum lost (partition of {after.summary.dc_name or '?'})",
                                 node=a.dc_name))
    elif a.have_quorum is True and b.have_quorum is False:
        events.append(make_event("quorum_regained", cluster, at, "quorum regained"))
    if a.dc_name != b.dc_name and (a.dc_name or b.dc_name):
        events.append(make_event("dc_changed", cluster, at,
                                 f"DC changed from {b.dc_name or 'none'} to {a.dc_name or 'none'}",
                                 from_node=b.dc_name, to_node=a.dc_name, node=a.dc_name))
    if a.maintenance_mode is True and b.maintenance_mode is False:
        events.append(make_event("cluster_maintenance", cluster, at,
                                 "cluster-wide maintenance-mode turned on"))
    elif a.maintenance_mode is False and b.maintenance_mode is True:
        events.append(make_event("cluster_ready", cluster, at,
                                 "cluster-wide maintenance-mode turned off"))
    return events


def diff_failures(before: ClusterState, after: ClusterState, cluster: str,
                  at: str) -> List[Event]:
    """New failed actions, newly failed resources (not already named by one) and fencing."""
    events: List[Event] = []
    seen = {(f.resource, f.op_key, f.node, f.call, f.last_rc_change) for f in before.failures}
    named: Set[Tuple[str, Optional[str]]] = set()
    for f in after.failures:
        if (f.resource, f.op_key, f.node, f.call, f.last_rc_change) in seen:
            continue
        named.add((f.resource, f.node))
        why = f.exitreason or f.exitstatus or "failed"
        events.append(make_event("failed_action", cluster, at,
                                 f"{f.op_key} failed on {f.node}: rc={f.rc} ({why})",
                                 resource=f.resource, node=f.node, from_node=f.node,
                                 state_time=f.last_rc_change))
    was_failed = {(r.id, n) for r in before.resources if r.failed for n in r.nodes}
    for res in after.resources:
        for node in res.nodes if res.failed else ():
            if (res.id, node) not in was_failed and (res.id, node) not in named:
                events.append(make_event("resource_failed", cluster, at,
                                         f"{res.id} FAILED on {node}", resource=res.id,
                                         parent=_parent(res), node=node, from_node=node))
    old_fence = set(before.fence_history)
    for fence in after.fence_history:
        if fence not in old_fence:
            events.append(make_event("fencing", cluster, at,
                                     f"node {fence.target} fenced ({fence.action}, "
                                     f"{fence.status}) by {fence.delegate or '?'}",
                                     node=fence.target, from_node=fence.target,
                                     state_time=fence.completed))
    return events


def diff_states(before: ClusterState, after: ClusterState, cluster: str,
                at: str) -> List[Event]:
    """Every change between two snapshots of ``cluster``, most severe first.

    ``at`` is when ``after`` was taken (ISO 8601); pure: no I/O, same input same output.
    """
    events = (diff_summary(before, after, cluster, at) + diff_nodes(before, after, cluster, at)
              + diff_failures(before, after, cluster, at)
              + diff_resources(before, after, cluster, at))
    stamp = after.summary.last_updated
    events = [e if e.state_time else replace(e, state_time=stamp) for e in events]
    order = {CRITICAL: 0, WARNING: 1, INFO: 2}
    return sorted(events, key=lambda e: order.get(e.severity, 1))
