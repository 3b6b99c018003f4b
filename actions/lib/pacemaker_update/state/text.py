"""``crm_mon -rfA1`` text: refused on purpose, with the way out.

Decision: the pack reads cluster state only from crm_mon XML. The text layout is
not an interface: it changed between 1.1 ("Online: [ a b ]", "ocf::heartbeat:X",
Master/Slave), 2.0 and 2.1 (bulleted "* Node List:", Promoted/Unpromoted), it
collapses clone instances ("Started: [ a b ]"), truncates, and a resource or node
name containing a space or bracket makes it ambiguous. A safety decision built on
a guess is worse than a clear refusal, and XML exists on every supported version
(``--output-as=xml`` on 2.x, ``-X``/``--as-xml`` on 1.1). Input that actually is
XML is parsed as such, so a caller may pass whatever crm_mon printed.
"""

from typing import Union

from ..errors import UnsupportedError
from .cluster import ClusterState
from .xmlparse import parse_crm_mon_xml
from .xmlsafe import DEFAULT_MAX_BYTES

CODE_TEXT_UNSUPPORTED = "CRM_MON_TEXT_UNSUPPORTED"


def parse_crm_mon_text(text: Union[str, bytes], max_bytes: int = DEFAULT_MAX_BYTES) -> ClusterState:
    """Refuse crm_mon's human text with ``UnsupportedError``; parse it if it is XML.

    Why refuse: see the module docstring (the text format is not stable enough
    to decide failovers on). The error's hint names the XML command to run.
    """
    head = text.lstrip()[:1]
    if head in ("<", b"<"):
        return parse_crm_mon_xml(text, max_bytes=max_bytes)
    raise UnsupportedError(
        "crm_mon text output (-rfA1 / pcs status) is not parsed: its layout differs "
        "between Pacemaker versions and is ambiguous; use crm_mon's XML output",
        code=CODE_TEXT_UNSUPPORTED,
        details={"first_line": _first_line(text)},
        hint="run `crm_mon -1 --output-as=xml` (Pacemaker 2.x) or `crm_mon -1 -X` "
        "(Pacemaker 1.1) and pass that to parse_crm_mon_xml",
    )


def _first_line(text: Union[str, bytes]) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    stripped = text.strip()
    return stripped.splitlines()[0][:120] if stripped else ""
