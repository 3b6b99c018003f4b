"""When is a cluster "settled"? Pure predicates the wait loop polls.

crm_mon cannot show a transition the DC has not started yet, so the op side also asks
the scheduler whether it has anything left to do (:func:`pending_transition` reads
``crm_simulate --live-check --simulate --output-as=xml``, the check ``crm_resource --wait``
makes) and requires two consecutive identical settled states; this module judges one
state, fingerprints it for that comparison and reads the simulated transition.
"""

from typing import Any, List, Optional, Sequence, Tuple, Union

from lxml import etree

from ..state.cluster import ClusterState

TRANSIENT_KINDS = ("starting", "stopping", "migrating", "unknown")
_TARGET_KIND = {"started": ("started", "promoted", "unpromoted"), "stopped": ("stopped",),
                "promoted": ("promoted",), "master": ("promoted",),
                "unpromoted": ("unpromoted",), "slave": ("unpromoted",)}


def _node_reasons(state: ClusterState, expect_online: Sequence[str]) -> List[str]:
    reasons: List[str] = []
    for name in expect_online:
        node = state.node(name)
        if node is None or node.online is not True:
            reasons.append(f"node {name} is not online yet")
    for node in state.nodes:
        if node.pending is True or node.unclean is True:
            reasons.append(f"node {node.name} is pending/unclean")
        if node.online is True and node.shutdown is True:
            reasons.append(f"node {node.name} is shutting down")
    return reasons


def _resource_reasons(state: ClusterState) -> List[str]:
    reasons: List[str] = []
    standby = set(state.standby_nodes())
    for res in state.resources:
        where = ",".join(res.nodes) or "-"
        if res.role_kind in TRANSIENT_KINDS:
            reasons.append(f"{res.id} is {res.role} on {where}")
        elif res.target_role and res.managed is not False:
            wanted = _TARGET_KIND.get(res.target_role.lower())
            if wanted and res.role_kind not in wanted:
                reasons.append(f"{res.id} is {res.role}, target role {res.target_role}")
        if res.managed is not False and res.role_kind not in ("stopped", None):
            on_standby = standby.intersection(res.nodes)
            if on_standby:
                reasons.append(f"{res.id} still runs on standby node "
                               f"{','.join(sorted(on_standby))}")
    return reasons


def unsettled_reasons(state: ClusterState, expect_online: Optional[Sequence[str]] = None
                      ) -> List[str]:
    """Why ``state`` is not settled yet (empty list = settled as far as crm_mon shows)."""
    if state.summary.dc_name is None:
        return ["no DC elected"]
    return _node_reasons(state, list(expect_online or ())) + _resource_reasons(state)


def fingerprint(state: ClusterState) -> Tuple[Any, ...]:
    """What must not change between two polls for the cluster to count as settled."""
    nodes = tuple((n.name, n.online, n.standby, n.maintenance, n.shutdown) for n in state.nodes)
    rscs = tuple(sorted((r.id, r.role_kind or "", r.nodes, r.managed is False, bool(r.failed))
                        for r in state.resources))
    return (state.summary.dc_name, state.summary.maintenance_mode, nodes, rscs,
            len(state.failures))


_MAX_SIMULATION_BYTES = 64 * 1024 * 1024


def pending_transition(output: Union[str, bytes]) -> Optional[List[str]]:
    """What the scheduler would still do, from ``crm_simulate -L -S --output-as=xml``.

    The same judgement as ``crm_resource --wait`` (Pacemaker's wait_till_stable: the
    scheduler run on the live CIB has an action that is not optional, not pseudo, runnable
    and not a notify), without its fixed 2 s sleep before the first check (2.x). The
    simulated transition holds exactly the required runnable actions; pseudo actions and
    notifications are left out as --wait does. [] = nothing pending. None = the output
    cannot be judged (Pacemaker before 2.1 has no XML here, an error, a truncated
    document): the caller must then ask ``crm_resource --wait`` itself.
    """
    data = output.encode("utf-8") if isinstance(output, str) else output
    if not data.strip() or len(data) > _MAX_SIMULATION_BYTES:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    status = root.find("status")
    transition = root.find("transition")
    if root.tag != "pacemaker-result" or transition is None or status is None \
            or status.get("code") != "0":
        return None
    pending: List[str] = []
    for item in transition:
        if not isinstance(item.tag, str) or item.tag == "pseudo_action":
            continue
        if item.tag == "rsc_action" and item.get("op") == "notify":
            continue
        what = " ".join(f"{k}={v}" for k, v in sorted(item.attrib.items()))
        pending.append(f"{item.tag} {what}".strip())
    return pending
