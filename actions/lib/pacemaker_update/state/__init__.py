"""Cluster state from crm_mon: parse it once, ask it questions.

Public API (lxml never leaves this package):
``parse_crm_mon_xml(data, max_bytes=32 MiB) -> ClusterState`` for
``crm_mon --output-as=xml`` (2.x) and ``crm_mon -X`` (legacy, 1.1);
``parse_crm_mon_text(text)`` refuses human text with ``UnsupportedError``.
"""

from .cluster import ClusterState
from .model import (
    ClusterSummary,
    Failure,
    FenceEvent,
    Node,
    Resource,
    normalise_role,
)
from .text import CODE_TEXT_UNSUPPORTED, parse_crm_mon_text
from .xmlparse import normalise_agent, parse_crm_mon_xml, split_op_key
from .xmlsafe import CODE_INVALID, CODE_TOO_LARGE, DEFAULT_MAX_BYTES

__all__ = [
    "CODE_INVALID",
    "CODE_TEXT_UNSUPPORTED",
    "CODE_TOO_LARGE",
    "DEFAULT_MAX_BYTES",
    "ClusterState",
    "ClusterSummary",
    "Failure",
    "FenceEvent",
    "Node",
    "Resource",
    "normalise_agent",
    "normalise_role",
    "parse_crm_mon_text",
    "parse_crm_mon_xml",
    "split_op_key",
]
