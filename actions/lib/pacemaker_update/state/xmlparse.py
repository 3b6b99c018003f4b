"""crm_mon XML (2.x ``--output-as=xml`` and legacy ``-X``/``--as-xml``) -> ``ClusterState``.

Both formats share element and attribute names (xml/crm_mon.rng of Pacemaker 1.1,
xml/api/crm_mon-2.*.rng of 2.x); they differ in the root element, in which
attributes are present, and in role spellings. Attributes are matched by name;
a missing one becomes ``None`` (unknown), a malformed one a ``ParseError``.
"""

from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ..errors import ClusterStateError
from .cluster import ClusterState
from .model import ClusterSummary, Failure, FenceEvent, Node, Resource, normalise_role
from .xmlsafe import DEFAULT_MAX_BYTES, Reader, invalid, load_root, to_bytes

_PARENTS = {"group", "clone", "bundle"}


def parse_crm_mon_xml(data: Union[str, bytes], max_bytes: int = DEFAULT_MAX_BYTES) -> ClusterState:
    """Parse crm_mon XML of any supported Pacemaker into a frozen ``ClusterState``.

    Accepts ``<pacemaker-result>`` (2.x ``--output-as=xml``) and ``<crm_mon>``
    (``-X``, the only XML of Pacemaker 1.1). Raises ``ParseError`` (code
    ``CRM_MON_XML_INVALID`` / ``CRM_MON_XML_TOO_LARGE``) for anything it cannot
    trust, and ``ClusterStateError`` (``CRM_MON_FAILED``) when crm_mon itself
    reported an error in ``<status code != 0>``.
    """
    raw = to_bytes(data, max_bytes)
    root = load_root(raw)
    rd = Reader(raw)
    if root.tag == "pacemaker-result":
        _check_status(rd, root)
        return _build_state(rd, root, "xml2", rd.text(root, "api-version"))
    if root.tag == "crm_mon":
        return _build_state(rd, root, "legacy", rd.text(root, "version"))
    raise invalid(
        raw,
        root.sourceline or 1,
        f"root element <{root.tag}> is neither <pacemaker-result> nor <crm_mon>",
    )


def _check_status(rd: Reader, root: Any) -> None:
    status = root.find("status")
    if status is None:
        raise invalid(rd.raw, root.sourceline or 1, "<pacemaker-result> without <status>")
    code = rd.number(status, "code")
    errors = [str(e.text or "").strip() for e in status.iter("error")]
    # Seen on 2.1.5 right after pacemaker starts: status 0 "OK", yet <errors> ("Could not
    # connect to the CIB: Transport endpoint is not connected") and no cluster in it. That is
    # crm_mon failing to read the cluster, not malformed XML.
    if code == 0 and not (errors and root.find("summary") is None):
        return
    message = rd.text(status, "message") or "unknown error"
    raise ClusterStateError(
        "crm_mon failed (status {}): {}{}".format(
            code, message, "; " + "; ".join(errors) if errors else ""
        ),
        code="CRM_MON_FAILED",
        details={"status_code": code, "message": message, "errors": errors},
        hint="check that Pacemaker runs on the node crm_mon was run on",
    )


def _build_state(rd: Reader, root: Any, fmt: str, version: Optional[str]) -> ClusterState:
    summary_el = root.find("summary")
    if summary_el is None:
        raise invalid(rd.raw, root.sourceline or 1, f"<{root.tag}> has no <summary>")
    nodes_el = root.find("nodes")
    resources_el = root.find("resources")
    resources: List[Resource] = []
    if resources_el is not None:
        _walk_resources(rd, resources_el, {}, False, resources)
    return ClusterState(
        summary=_parse_summary(rd, summary_el),
        nodes=tuple(_parse_node(rd, el) for el in _children(nodes_el, "node")),
        resources=tuple(resources),
        failures=tuple(_parse_failure(rd, el) for el in _grandchildren(root, "failures")),
        node_attributes=_parse_node_attributes(rd, root.find("node_attributes")),
        fence_history=tuple(
            _parse_fence_event(rd, el) for el in _grandchildren(root, "fence_history")
        ),
        source_format=fmt,
        raw_version=version,
        fail_counts=_parse_fail_counts(rd, root.find("node_history")),
    )


def _children(parent: Any, tag: str) -> List[Any]:
    return [] if parent is None else parent.findall(tag)


def _grandchildren(root: Any, tag: str) -> List[Any]:
    parent = root.find(tag)
    return [] if parent is None else [el for el in parent if isinstance(el.tag, str)]


def _parse_summary(rd: Reader, el: Any) -> ClusterSummary:
    stack, dc = el.find("stack"), el.find("current_dc")
    opts, upd, chg = el.find("cluster_options"), el.find("last_update"), el.find("last_change")
    nodes_cfg, res_cfg = el.find("nodes_configured"), el.find("resources_configured")

    def get(child: Any, fn: Any, name: str) -> Any:
        return None if child is None else fn(child, name)

    return ClusterSummary(
        stack=get(stack, rd.text, "type"),
        dc_name=get(dc, rd.text, "name"),
        dc_id=get(dc, rd.text, "id"),
        dc_present=get(dc, rd.flag, "present"),
        have_quorum=get(dc, rd.flag, "with_quorum"),
        pacemaker_version=get(dc, rd.text, "version"),
        maintenance_mode=get(opts, rd.flag, "maintenance-mode"),
        stonith_enabled=get(opts, rd.flag, "stonith-enabled"),
        no_quorum_policy=get(opts, rd.text, "no-quorum-policy"),
        stop_all_resources=get(opts, rd.flag, "stop-all-resources"),
        nodes_configured=get(nodes_cfg, rd.number, "number"),
        resources_configured=get(res_cfg, rd.number, "number"),
        resources_disabled=get(res_cfg, rd.number, "disabled"),
        resources_blocked=get(res_cfg, rd.number, "blocked"),
        last_updated=get(upd, rd.text, "time"),
        last_change=get(chg, rd.text, "time") or None,
    )


def _required(rd: Reader, el: Any, name: str) -> str:
    value = rd.text(el, name)
    if not value:
        raise invalid(rd.raw, el.sourceline or 1, f"<{el.tag}> without {name}")
    return value


def _parse_node(rd: Reader, el: Any) -> Node:
    return Node(
        name=_required(rd, el, "name"),
        id=rd.text(el, "id"),
        online=rd.flag(el, "online"),
        standby=rd.flag(el, "standby"),
        standby_onfail=rd.flag(el, "standby_onfail"),
        maintenance=rd.flag(el, "maintenance"),
        pending=rd.flag(el, "pending"),
        unclean=rd.flag(el, "unclean"),
        shutdown=rd.flag(el, "shutdown"),
        expected_up=rd.flag(el, "expected_up"),
        is_dc=rd.flag(el, "is_dc"),
        resources_running=rd.number(el, "resources_running"),
        type=rd.text(el, "type"),
    )


def _walk_resources(
    rd: Reader, parent: Any, ctx: Dict[str, str], promotable: bool, out: List[Resource]
) -> None:
    """Flatten nested groups/clones/bundles (and bundle replicas) into ``out``."""
    for el in parent:
        if el.tag == "resource":
            out.append(_parse_resource(rd, el, ctx, promotable))
        elif el.tag in _PARENTS:
            inner = dict(ctx)
            inner[el.tag] = _required(rd, el, "id")
            is_prom = promotable
            if el.tag == "clone":
                is_prom = bool(rd.flag(el, "multi_state") or rd.flag(el, "promotable"))
            _walk_resources(rd, el, inner, is_prom, out)
        elif el.tag == "replica":
            _walk_resources(rd, el, ctx, promotable, out)


def normalise_agent(agent: Optional[str]) -> Optional[str]:
    """``ocf::heartbeat:IPaddr2`` (1.1) and ``ocf:heartbeat:IPaddr2`` (2.x) -> the latter."""
    if agent is None:
        return None
    return ":".join(part for part in agent.split(":") if part)


_RES_FLAGS = ("active", "managed", "failed", "blocked", "orphaned", "failure_ignored")


def _resource_flags(rd: Reader, el: Any) -> Tuple[Optional[bool], ...]:
    # thousands of resources share a handful of flag combinations: parse each once
    get = el.get
    key = (
        get("active"), get("managed"), get("failed"),
        get("blocked"), get("orphaned"), get("failure_ignored"),
    )  # fmt: skip
    flags = rd.flag_cache.get(key)
    if flags is None:
        flags = tuple(rd.flag(el, name) for name in _RES_FLAGS)
        rd.flag_cache[key] = flags
    return flags


def _parse_resource(rd: Reader, el: Any, ctx: Dict[str, str], promotable: bool) -> Resource:
    get = el.get
    role, agent = get("role"), get("resource_agent")
    if agent not in rd.cache:  # few distinct agents, thousands of resources
        rd.cache[agent] = normalise_agent(agent)
    active, managed, failed, blocked, orphaned, failure_ignored = _resource_flags(rd, el)
    return Resource(
        id=get("id") or _required(rd, el, "id"),
        agent=rd.cache[agent],
        role=role,
        role_kind=normalise_role(role),
        target_role=get("target_role"),
        active=active,
        managed=managed,
        failed=failed,
        blocked=blocked,
        orphaned=orphaned,
        failure_ignored=failure_ignored,
        nodes=tuple(n.get("name") or _required(rd, n, "name") for n in el.iterchildren("node")),
        group=ctx.get("group"),
        clone=ctx.get("clone"),
        bundle=ctx.get("bundle"),
        is_promotable_clone=promotable,
    )


def split_op_key(
    op_key: str, task: Optional[str], interval: Optional[int]
) -> Tuple[str, str, Optional[int]]:
    """``app_monitor_10000`` -> (``app``, ``monitor``, 10000); resource ids may contain ``_``."""
    if task and interval is not None:
        suffix = f"_{task}_{interval}"
        if op_key.endswith(suffix) and len(op_key) > len(suffix):
            return op_key[: -len(suffix)], task, interval
    for known in ("migrate_to", "migrate_from"):
        marker = f"_{known}_"
        if marker in op_key:
            head, _, tail = op_key.rpartition(marker)
            return head, known, int(tail) if tail.isdigit() else interval
    parts = op_key.rsplit("_", 2)
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    return op_key, task or "", interval


def _parse_failure(rd: Reader, el: Any) -> Failure:
    op_key = rd.text(el, "op_key") or _required(rd, el, "id")
    task, interval = rd.text(el, "task"), rd.number(el, "interval")
    resource, key_task, key_interval = split_op_key(op_key, task, interval)
    return Failure(
        resource=resource,
        op_key=op_key,
        node=rd.text(el, "node"),
        task=task or key_task or None,
        interval_ms=interval if interval is not None else key_interval,
        rc=rd.number(el, "exitcode"),
        exitstatus=rd.text(el, "exitstatus"),
        exitreason=rd.text(el, "exitreason"),
        status=rd.text(el, "status"),
        call=rd.text(el, "call"),
        last_rc_change=rd.text(el, "last-rc-change"),
    )


def _parse_fence_event(rd: Reader, el: Any) -> FenceEvent:
    return FenceEvent(
        target=rd.text(el, "target"),
        action=rd.text(el, "action"),
        status=rd.text(el, "status"),
        delegate=rd.text(el, "delegate"),
        client=rd.text(el, "client"),
        origin=rd.text(el, "origin"),
        completed=rd.text(el, "completed"),
        exit_reason=rd.text(el, "exit-reason"),
        extended_status=rd.text(el, "extended-status"),
    )


def _parse_node_attributes(rd: Reader, el: Any) -> Mapping[str, Mapping[str, str]]:
    out: Dict[str, Mapping[str, str]] = {}
    for node in _children(el, "node"):
        attrs = {
            _required(rd, a, "name"): rd.text(a, "value") or "" for a in node.findall("attribute")
        }
        out[_required(rd, node, "name")] = MappingProxyType(attrs)
    return MappingProxyType(out)


def _parse_fail_counts(rd: Reader, el: Any) -> Mapping[str, Mapping[str, int]]:
    out: Dict[str, Mapping[str, int]] = {}
    for node in _children(el, "node"):
        counts: Dict[str, int] = {}
        for hist in node.findall("resource_history"):
            count = rd.number(hist, "fail-count")
            if count:
                counts[_required(rd, hist, "id")] = count
        if counts:
            out[_required(rd, node, "name")] = MappingProxyType(counts)
    return MappingProxyType(out)
