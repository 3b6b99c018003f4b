"""``ClusterState``: one crm_mon snapshot and the questions later layers ask of it."""

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Set, Tuple

from .model import ClusterSummary, Failure, FenceEvent, Node, Resource


@dataclass(frozen=True)
class ClusterState:
    """A parsed crm_mon snapshot. Immutable: mappings are read-only proxies.

    ``source_format`` is ``"xml2"`` (``--output-as=xml``) or ``"legacy"`` (``-X``);
    ``raw_version`` is the root's ``api-version`` (xml2) or ``version`` (legacy).
    ``fail_counts`` is node -> resource -> fail-count from ``node_history``.
    """

    summary: ClusterSummary
    nodes: Tuple[Node, ...]
    resources: Tuple[Resource, ...]
    failures: Tuple[Failure, ...]
    node_attributes: Mapping[str, Mapping[str, str]]
    fence_history: Tuple[FenceEvent, ...]
    source_format: str
    raw_version: Optional[str]
    fail_counts: Mapping[str, Mapping[str, int]]

    def node(self, name: str) -> Optional[Node]:
        """The node called ``name``, or None when crm_mon does not list it."""
        for item in self.nodes:
            if item.name == name:
                return item
        return None

    def node_names(self) -> Tuple[str, ...]:
        """Names of all nodes, in crm_mon's order."""
        return tuple(item.name for item in self.nodes)

    def online_nodes(self) -> Tuple[str, ...]:
        """Nodes crm_mon reports online (standby and maintenance nodes included)."""
        return tuple(item.name for item in self.nodes if item.online is True)

    def standby_nodes(self) -> Tuple[str, ...]:
        """Nodes in standby (resources not allowed there)."""
        return tuple(item.name for item in self.nodes if item.standby is True)

    def maintenance_nodes(self) -> Tuple[str, ...]:
        """Nodes in per-node maintenance (their resources are unmanaged)."""
        return tuple(item.name for item in self.nodes if item.maintenance is True)

    def primitives(self) -> Tuple[Resource, ...]:
        """All primitive instances, flattened (the same tuple as ``resources``)."""
        return self.resources

    def resources_on(self, node_name: str) -> Tuple[Resource, ...]:
        """Primitive instances crm_mon places on ``node_name``."""
        return tuple(r for r in self.resources if node_name in r.nodes)

    def resource_instances(self, rid: str) -> Tuple[Resource, ...]:
        """Instances of a primitive, or all primitives of a group/clone/bundle ``rid``."""
        return tuple(r for r in self.resources if r.belongs_to(rid))

    def active_nodes_of(self, rid: str) -> Tuple[str, ...]:
        """Nodes where ``rid`` (primitive, group, clone or bundle id) is active, sorted."""
        names: Set[str] = set()
        for res in self.resource_instances(rid):
            if res.active is not False:
                names.update(res.nodes)
        return tuple(sorted(names))

    def nodes_in_role(self, rid: str, role_kind: str) -> Tuple[str, ...]:
        """Nodes where an instance of ``rid`` has normalised role ``role_kind``."""
        names: Set[str] = set()
        for res in self.resource_instances(rid):
            if res.role_kind == role_kind:
                names.update(res.nodes)
        return tuple(sorted(names))

    def promoted_nodes_of(self, rid: str) -> Tuple[str, ...]:
        """Nodes where ``rid`` is Promoted (Master on Pacemaker 1.1)."""
        return self.nodes_in_role(rid, "promoted")

    def placement(self) -> Dict[str, Tuple[str, ...]]:
        """Primitive id -> sorted nodes it is active on: the thing a failover changes."""
        out: Dict[str, Tuple[str, ...]] = {}
        for res in self.resources:
            if res.id not in out:
                out[res.id] = self.active_nodes_of(res.id)
        return out

    def unmanaged_resources(self) -> Tuple[Resource, ...]:
        """Instances Pacemaker does not manage (maintenance, is-managed=false)."""
        return tuple(r for r in self.resources if r.managed is False)

    def failed_resources(self) -> Tuple[Resource, ...]:
        """Instances crm_mon flags failed or blocked."""
        return tuple(r for r in self.resources if r.failed or r.blocked)

    def failures_on(self, node_name: str) -> Tuple[Failure, ...]:
        """Failed actions recorded on ``node_name``."""
        return tuple(f for f in self.failures if f.node == node_name)
