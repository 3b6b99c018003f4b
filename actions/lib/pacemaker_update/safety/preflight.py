"""Preflight: is this cluster healthy enough to start an update with this method?

Pure: a ClusterState (and optionally per-node versions probed by the op side) in, a list
of coded problems out. Each problem is a dict ``{code, message, severity, node?,
resource?}``; ``severity`` is ``error`` (refuse) or ``warning`` (report, go on). A flag
crm_mon did not report (``None``) is never read as healthy: it yields a warning.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..state.cluster import ClusterState

METHODS = ("full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update")

# What each method tolerates as a warning instead of a refusal, because it is the
# method's own intent (resuming it) or because the method resets it anyway.
METHOD_TOLERATES: Dict[str, frozenset] = {
    "full_stop": frozenset({"RESOURCE_FAILED", "RESOURCE_BLOCKED", "RESOURCE_UNMANAGED",
                            "NODE_STANDBY"}),
    "cluster_maintenance": frozenset({"CLUSTER_MAINTENANCE", "RESOURCE_UNMANAGED"}),
    "node_maintenance": frozenset(),
    "rolling_standby": frozenset(),
    "stack_update": frozenset(),
}

Problem = Dict[str, Any]


def _problem(code: str, message: str, **where: Any) -> Problem:
    out: Problem = {"code": code, "message": message, "severity": "error"}
    out.update({k: v for k, v in where.items() if v is not None})
    return out


def _node_problems(state: ClusterState, expected: Sequence[str]) -> List[Problem]:
    problems: List[Problem] = []
    for name in expected:
        node = state.node(name)
        if node is None:
            problems.append(_problem("NODE_MISSING", f"node {name} is configured for this "
                                     "cluster but crm_mon does not list it", node=name))
            continue
        if node.online is not True:
            problems.append(_problem("NODE_OFFLINE", f"node {name} is not online "
                                     f"(online={node.online})", node=name))
        for flag in ("unclean", "pending"):
            if getattr(node, flag) is True:
                problems.append(_problem("NODE_" + flag.upper(), f"node {name} is {flag}",
                                         node=name))
        if node.standby is True:
            problems.append(_problem("NODE_STANDBY", f"node {name} is already in standby",
                                     node=name))
        if node.maintenance is True:
            problems.append(_problem("NODE_MAINTENANCE", f"node {name} is already in "
                                     "maintenance", node=name))
    return problems


def _cluster_problems(state: ClusterState) -> List[Problem]:
    summary = state.summary
    problems: List[Problem] = []
    if summary.have_quorum is not True:
        problems.append(_problem("NO_QUORUM", "the cluster partition has no quorum "
                                 f"(with_quorum={summary.have_quorum})"))
    if not summary.dc_name or summary.dc_present is False:
        problems.append(_problem("NO_DC", "no Designated Controller is elected"))
    if summary.maintenance_mode is True:
        problems.append(_problem("CLUSTER_MAINTENANCE", "cluster-wide maintenance-mode is "
                                 "already on"))
    if summary.stop_all_resources is True:
        problems.append(_problem("STOP_ALL_RESOURCES", "stop-all-resources is set"))
    return problems


def _resource_problems(state: ClusterState) -> List[Problem]:
    problems: List[Problem] = []
    seen = set()
    for res in state.resources:
        where = ",".join(res.nodes) or "-"
        for flag, code in (("failed", "RESOURCE_FAILED"), ("blocked", "RESOURCE_BLOCKED")):
            if getattr(res, flag) is True and (res.id, code, where) not in seen:
                seen.add((res.id, code, where))
                problems.append(_problem(code, f"resource {res.id} is {flag} on {where}",
                                         resource=res.id))
        if res.managed is False and (res.id, "U", where) not in seen:
            seen.add((res.id, "U", where))
            problems.append(_problem("RESOURCE_UNMANAGED", f"resource {res.id} is unmanaged "
                                     f"on {where}", resource=res.id))
    for fail in state.failures:
        problems.append(_problem("FAILED_ACTION", f"failed action {fail.op_key} on "
                                 f"{fail.node}: {fail.exitstatus or fail.status} "
                                 f"(rc={fail.rc}) {fail.exitreason or ''}".rstrip(),
                                 node=fail.node, resource=fail.resource))
    return problems


def _version_problems(state: ClusterState, expected: Sequence[str],
                      node_versions: Optional[Mapping[str, Optional[str]]]) -> List[Problem]:
    if not node_versions:
        return [dict(_problem("VERSION_UNKNOWN", "per-node Pacemaker versions are not known; "
                              "version skew not checked"), severity="warning")]
    known = {n: v for n, v in node_versions.items() if v}
    problems: List[Problem] = []
    for name in expected:
        if name not in known:
            problems.append(dict(_problem("VERSION_UNKNOWN", f"Pacemaker version of {name} "
                                          "could not be read", node=name), severity="warning"))
    if len(set(known.values())) > 1:
        listing = ", ".join(f"{n}={v}" for n, v in sorted(known.items()))
        problems.append(_problem("VERSION_SKEW", f"nodes run different Pacemaker versions: "
                                 f"{listing}"))
    return problems


def preflight(state: ClusterState, method: str = "rolling_standby",
              expected_nodes: Optional[Sequence[str]] = None,
              accept_failed_actions: bool = False, accept_standby: bool = False,
              allow_version_skew: bool = False,
              node_versions: Optional[Mapping[str, Optional[str]]] = None) -> List[Problem]:
    """Every reason not to start ``method`` on this cluster, errors and warnings.

    ``expected_nodes`` are the configured nodes (default: the ones crm_mon lists); a
    node crm_mon does not show at all is a problem, not something to skip. ``accept_*``
    downgrade the matching problems to warnings; they are still reported.
    """
    if method not in METHOD_TOLERATES:
        raise ValueError(f"unknown method {method!r}")
    expected = list(expected_nodes) if expected_nodes else list(state.node_names())
    problems = (_cluster_problems(state) + _node_problems(state, expected)
                + _resource_problems(state)
                + _version_problems(state, expected, node_versions))
    tolerated = set(METHOD_TOLERATES[method])
    if accept_failed_actions:
        tolerated.add("FAILED_ACTION")
    if accept_standby:
        tolerated.update({"NODE_STANDBY", "NODE_MAINTENANCE"})
    if allow_version_skew:
        tolerated.add("VERSION_SKEW")
    for item in problems:
        if item["code"] in tolerated:
            item["severity"] = "warning"
    return problems


def errors_of(problems: Sequence[Problem]) -> List[Problem]:
    """Only the problems that refuse (severity ``error``)."""
    return [p for p in problems if p["severity"] == "error"]
