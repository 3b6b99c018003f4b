"""Has a re-probe (``crm_resource --refresh``) finished? Read from the CIB status.

The maintenance-exit guard simulates leaving maintenance on the re-probed status. crm_mon
cannot tell a probe that has not reported yet from a resource found not running (neither
is listed on the node), and in maintenance ``crm_resource --wait`` never returns 0; a
quiet window alone let the simulation run on a half-probed status and plan a Start of a
resource whose probe was still pending (seen in the crash campaign: the probe of a ping
clone reported 2.16 s after the refresh). The CIB says it exactly: a refresh deletes the
node's ``lrm_resource`` history and each probe writes a new operation record with a new
``transition-key``; a record with ``op-status="-1"`` is still pending.
"""

from typing import Dict, List, Optional, Sequence, Set, Union

from .transition import _parse_cib

Marks = Dict[str, Dict[str, Set[str]]]  # node -> resource -> transition keys of its records


def _configured(root: object) -> Set[str]:
    return {str(p.get("id")) for p in root.iterfind("configuration/resources//primitive")}  # type: ignore[attr-defined]


def probe_marks(cib: Union[bytes, str], nodes: Optional[Sequence[str]] = None) -> Marks:
    """Per node (all, or ``nodes``): configured resource -> keys of its COMPLETED records.

    A clone instance's history (``ping:1``) counts for its primitive (``ping``); resources
    no longer configured are left out (they are never probed again).
    """
    root = _parse_cib(cib)
    configured = _configured(root)
    marks: Marks = {}
    for state in root.iterfind("status/node_state"):
        name = str(state.get("uname"))
        if nodes is not None and name not in nodes:
            continue
        found: Dict[str, Set[str]] = {}
        for rsc in state.iterfind("lrm/lrm_resources/lrm_resource"):
            base = str(rsc.get("id")).split(":", 1)[0]
            if base not in configured:
                continue
            keys = found.setdefault(base, set())
            for op in rsc.iterfind("lrm_rsc_op"):
                if op.get("op-status") != "-1" and op.get("transition-key"):
                    keys.add(str(op.get("transition-key")))
        marks[name] = found
    return marks


def pending_probes(before: Marks, after: Marks) -> List[str]:
    """``node: resource`` for each resource with history on a node before the refresh that
    has no completed record written since (none, or only the records seen before)."""
    pending = []
    for node, resources in sorted(before.items()):
        now = after.get(node, {})
        for rsc in sorted(resources):
            if not (now.get(rsc, set()) - resources[rsc]):
                pending.append(f"{node}: {rsc}")
    return pending


def cib_version(cib: Union[bytes, str]) -> Optional[str]:
    """``admin_epoch.epoch.num_updates`` of a CIB: it changes with every write (status
    included: a probe's record, a node attribute), so two equal versions are the same CIB."""
    root = _parse_cib(cib)
    parts = [root.get(name) for name in ("admin_epoch", "epoch", "num_updates")]
    if any(part is None or not str(part).isdigit() for part in parts):
        return None
    return ".".join(str(part) for part in parts)
