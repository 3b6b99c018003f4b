"""What crm_mon says about a cluster, as frozen dataclasses.

Every flag Pacemaker may leave out (older crm_mon, legacy ``-X`` output) is
``Optional[bool]``: ``None`` means "crm_mon did not say", which a safety check
must treat as unknown, never as ``False``.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

ROLE_KINDS = {
    "started": "started",
    "stopped": "stopped",
    "promoted": "promoted",
    "master": "promoted",
    "unpromoted": "unpromoted",
    "slave": "unpromoted",
    "starting": "starting",
    "stopping": "stopping",
    "migrating": "migrating",
}


def normalise_role(role: Optional[str]) -> Optional[str]:
    """Map Pacemaker's role spellings (1.1 Master/Slave, 2.1 Promoted/Unpromoted) to one kind.

    Callers compare ``role_kind`` so the same check works on every Pacemaker version;
    an unknown role becomes ``"unknown"`` rather than being guessed.
    """
    if role is None:
        return None
    kind = ROLE_KINDS.get(role.lower())
    return kind if kind is not None else ROLE_KINDS.get(role.strip().lower(), "unknown")


@dataclass(frozen=True)
class ClusterSummary:
    """The ``<summary>`` block: DC, quorum, versions and cluster-wide options."""

    stack: Optional[str]
    dc_name: Optional[str]
    dc_id: Optional[str]
    dc_present: Optional[bool]
    have_quorum: Optional[bool]
    pacemaker_version: Optional[str]
    maintenance_mode: Optional[bool]
    stonith_enabled: Optional[bool]
    no_quorum_policy: Optional[str]
    stop_all_resources: Optional[bool]
    nodes_configured: Optional[int]
    resources_configured: Optional[int]
    resources_disabled: Optional[int]
    resources_blocked: Optional[int]
    last_updated: Optional[str]
    last_change: Optional[str]


@dataclass(frozen=True)
class Node:
    """One cluster node as crm_mon reports it; ``None`` = attribute absent."""

    name: str
    id: Optional[str]
    online: Optional[bool]
    standby: Optional[bool]
    standby_onfail: Optional[bool]
    maintenance: Optional[bool]
    pending: Optional[bool]
    unclean: Optional[bool]
    shutdown: Optional[bool]
    expected_up: Optional[bool]
    is_dc: Optional[bool]
    resources_running: Optional[int]
    type: Optional[str]


@dataclass(frozen=True)
class Resource:
    """One primitive instance, flattened out of its group / clone / bundle.

    Anonymous clone instances share the primitive ``id`` (crm_mon 2.x prints no
    instance number), so one id can appear several times, once per instance.
    """

    id: str
    agent: Optional[str]
    role: Optional[str]
    role_kind: Optional[str]
    target_role: Optional[str]
    active: Optional[bool]
    managed: Optional[bool]
    failed: Optional[bool]
    blocked: Optional[bool]
    orphaned: Optional[bool]
    failure_ignored: Optional[bool]
    nodes: Tuple[str, ...]
    group: Optional[str]
    clone: Optional[str]
    bundle: Optional[str]
    is_promotable_clone: bool

    def belongs_to(self, rid: str) -> bool:
        """True when ``rid`` names this primitive or one of its parents."""
        return rid in (self.id, self.group, self.clone, self.bundle)


@dataclass(frozen=True)
class Failure:
    """One entry of "Failed Resource Actions" (``<failures><failure>``)."""

    resource: str
    op_key: str
    node: Optional[str]
    task: Optional[str]
    interval_ms: Optional[int]
    rc: Optional[int]
    exitstatus: Optional[str]
    exitreason: Optional[str]
    status: Optional[str]
    call: Optional[str]
    last_rc_change: Optional[str]


@dataclass(frozen=True)
class FenceEvent:
    """One ``<fence_history><fence_event>``: who fenced whom, how it ended."""

    target: Optional[str]
    action: Optional[str]
    status: Optional[str]
    delegate: Optional[str]
    client: Optional[str]
    origin: Optional[str]
    completed: Optional[str]
    exit_reason: Optional[str]
    extended_status: Optional[str]
