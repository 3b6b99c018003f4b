"""The maintenance-exit guard's pure half: edit a copy of the CIB, read crm_simulate.

The seed's warning: when maintenance mode is lifted, every resource must be in the
state it was in before, or Pacemaker "corrects" it (stops, starts, moves). The op side
fetches the live CIB (``cibadmin -Q``), this module turns maintenance off in a COPY
(:func:`edit_cib_leave_maintenance`), the op pipes the copy into ``crm_simulate -p -R``
on a node, and :func:`parse_transition_summary` lists what the scheduler would do.
An empty list means leaving maintenance is a no-op for the resources.

The CIB is parsed with a hardened lxml parser (no entities, no network, no huge trees):
it comes from a cluster node, but the guard must not be the weak spot.
"""

import re
from typing import Any, Dict, List, Optional, Union

from lxml import etree

from ..errors import ParseError

_MAX_CIB_BYTES = 64 * 1024 * 1024

# "  * Move       vip     ( server1 -> server2 )  due to ..." (2.x) and
# " * Move    vip\t(Started server1 -> server2)" (1.1).
_ACTION_RE = re.compile(
    r"^\s*\*\s+(?P<action>[A-Za-z-]+)\s+(?P<rsc>\S+)\s+\((?P<inner>[^)]*)\)\s*(?P<why>.*)$"
)
_FENCE_RE = re.compile(r"^\s*\*\s+Fence\s+\((?P<how>\w+)\)\s+(?P<node>\S+)\s*(?P<why>.*)$")
_SHUTDOWN_RE = re.compile(r"^\s*\*\s+Shutdown\s+(?P<node>\S+)\s*$")
_ROLE_WORDS = {
    "Started", "Stopped", "Promoted", "Unpromoted", "Master", "Slave", "unmanaged", "blocked",
}
# Lines that announce no change at all (1.1 prints "Leave" with -V).
_NO_OPS = {"Leave"}


def _parse_cib(cib: Union[bytes, str]) -> Any:
    """Parse CIB XML with entities, network access and huge trees disabled."""
    data = cib.encode("utf-8") if isinstance(cib, str) else cib
    if len(data) > _MAX_CIB_BYTES:
        raise ParseError(f"CIB is larger than {_MAX_CIB_BYTES} bytes", code="CIB_TOO_LARGE")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"CIB is not well-formed XML: {exc}", code="CIB_PARSE_ERROR") from exc
    if root.tag != "cib" or root.find("configuration") is None:
        raise ParseError(f"document is not a CIB (root <{root.tag}>)", code="CIB_PARSE_ERROR")
    return root


def _set_nvpairs(parent: Any, xpath: str, name: str, value: str) -> int:
    """Set every nvpair called ``name`` below the sets matching ``xpath``; count them."""
    count = 0
    for nvpair in parent.xpath(xpath):
        if nvpair.get("name") == name:
            nvpair.set("value", value)
            count += 1
    return count


def edit_cib_leave_maintenance(cib: Union[bytes, str], node: Optional[str] = None) -> bytes:
    """Return a copy of ``cib`` with maintenance lifted (cluster-wide, or for one node).

    Cluster-wide: every ``maintenance-mode`` cluster property becomes ``false``.
    Per node: the node's ``maintenance`` attribute (permanent in <nodes>, transient in
    <status>) becomes ``off``. The input is never modified; the result is for
    ``crm_simulate`` only and is never written back to a cluster.
    """
    root = _parse_cib(cib)
    if node is None:
        _set_nvpairs(root, "configuration/crm_config/cluster_property_set/nvpair",
                     "maintenance-mode", "false")
    else:
        for elem in root.xpath("configuration/nodes/node[@uname=$n]", n=node):
            _set_nvpairs(elem, "instance_attributes/nvpair", "maintenance", "off")
        for elem in root.xpath("status/node_state[@uname=$n]", n=node):
            _set_nvpairs(elem, "transient_attributes/instance_attributes/nvpair",
                         "maintenance", "off")
    return etree.tostring(root, xml_declaration=False, encoding="utf-8")


def _parse_action_line(line: str) -> Optional[Dict[str, Any]]:
    """One "Transition Summary" bullet as a dict, or None when it is not one."""
    fence = _FENCE_RE.match(line)
    if fence:
        return {"action": "Fence", "resource": None, "nodes": [fence.group("node")],
                "detail": fence.group("how"), "line": line.strip()}
    shutdown = _SHUTDOWN_RE.match(line)
    if shutdown:
        return {"action": "Shutdown", "resource": None, "nodes": [shutdown.group("node")],
                "detail": "", "line": line.strip()}
    match = _ACTION_RE.match(line)
    if not match:
        return None
    words = [w for w in match.group("inner").replace("->", " ").split() if w]
    nodes = [w for w in words if w not in _ROLE_WORDS]
    return {"action": match.group("action"), "resource": match.group("rsc"), "nodes": nodes,
            "detail": match.group("why").strip(), "line": line.strip()}


def parse_transition_summary(text: str) -> List[Dict[str, Any]]:
    """The actions of crm_simulate's "Transition Summary" (Pacemaker 1.1 and 2.x text).

    Each item: ``action`` (Start, Stop, Move, Restart, Recover, Promote, Demote, Migrate,
    Fence, Shutdown...), ``resource``, ``nodes`` involved, ``detail``, the raw ``line``.
    "Leave" lines (no change) are dropped. Raises ParseError when the section is missing,
    because then nothing proves the simulation ran.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Transition Summary:")
    except StopIteration:
        raise ParseError("crm_simulate output has no 'Transition Summary:' section",
                         code="SIMULATION_PARSE_ERROR",
                         details={"output_head": text[:500]}) from None
    actions: List[Dict[str, Any]] = []
    for line in lines[start + 1:]:
        if not line.strip():
            if actions:
                break
            continue
        if not line.lstrip().startswith("*"):
            break
        item = _parse_action_line(line)
        if item is None:
            item = {"action": "Unknown", "resource": None, "nodes": [], "detail": "",
                    "line": line.strip()}
        if item["action"] not in _NO_OPS:
            actions.append(item)
    return actions
