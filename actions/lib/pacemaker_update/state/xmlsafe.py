"""Hardened loading of crm_mon XML: the only place this package touches lxml's parser.

crm_mon output may come from a host we do not trust completely (over SSH, from a
file a user points at). So: no DTD, no entities, no network, no huge trees, a
size cap, and every failure becomes a coded ``ParseError`` naming the bad line.
"""

import re
from typing import Any, Dict, Optional, Tuple, Union

from lxml import etree

from ..errors import ParseError

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
CODE_INVALID = "CRM_MON_XML_INVALID"
CODE_TOO_LARGE = "CRM_MON_XML_TOO_LARGE"

# crm_mon never emits a DOCTYPE; one in the input can only be an entity trick.
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _make_parser() -> "etree.XMLParser":
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
        remove_blank_text=True,  # indentation text nodes: ~1/3 of parse time, never read
    )


def line_text(data: bytes, lineno: int) -> str:
    """Line ``lineno`` (1-based) of ``data``, cut to 120 characters, for error messages."""
    lines = data.splitlines()
    if 1 <= lineno <= len(lines):
        return lines[lineno - 1][:120].decode("utf-8", "replace")
    return ""


def invalid(data: bytes, lineno: int, why: str) -> ParseError:
    """A ``CRM_MON_XML_INVALID`` error naming line ``lineno`` and showing it."""
    text = line_text(data, lineno)
    return ParseError(
        f"crm_mon XML invalid at line {lineno}: {why}" + (f": {text!r}" if text else ""),
        code=CODE_INVALID,
        details={"line": lineno, "text": text, "reason": why},
        hint="run `crm_mon -1 --output-as=xml` (Pacemaker 2.x) or `crm_mon -1 -X` (1.1) "
        "and pass its output unchanged",
    )


def to_bytes(data: Union[str, bytes], max_bytes: int) -> bytes:
    """Input as bytes, refused when empty or over ``max_bytes`` (before any parsing)."""
    if isinstance(data, str):
        raw = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise ParseError(
            f"crm_mon output must be str or bytes, not {type(data).__name__}",
            code=CODE_INVALID,
        )
    if len(raw) > max_bytes:
        raise ParseError(
            f"crm_mon XML is {len(raw)} bytes, over the {max_bytes}-byte limit",
            code=CODE_TOO_LARGE,
            details={"size": len(raw), "max_bytes": max_bytes},
        )
    if not raw.strip():
        raise invalid(raw, 1, "empty input")
    return raw


def load_root(raw: bytes) -> "etree._Element":
    """Parse ``raw`` with the hardened parser; the root element or a coded ParseError."""
    found = _DOCTYPE.search(raw)
    if found:
        lineno = raw.count(b"\n", 0, found.start()) + 1
        raise invalid(raw, lineno, "DOCTYPE/ENTITY declarations are not allowed")
    try:
        root = etree.fromstring(raw, parser=_make_parser())
    except etree.XMLSyntaxError as exc:
        lineno = exc.lineno or 1
        raise invalid(raw, lineno, str(exc.msg or exc)) from None
    except (ValueError, etree.LxmlError) as exc:
        raise invalid(raw, 1, str(exc)) from None
    if root is None:
        raise invalid(raw, 1, "no root element")
    if root.getroottree().docinfo.doctype:
        raise invalid(raw, 1, "DOCTYPE is not allowed")
    return root


_FAST_BOOLS = {"true": True, "false": False}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class Reader:
    """Typed attribute access that reports the element's line on bad values."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.cache: Dict[Optional[str], Optional[str]] = {}
        self.flag_cache: Dict[Tuple[Optional[str], ...], Tuple[Optional[bool], ...]] = {}

    def text(self, el: Any, name: str) -> Optional[str]:
        """Attribute ``name`` as str, None when absent."""
        value = el.get(name)
        return None if value is None else str(value)

    def flag(self, el: Any, name: str, attrs: Optional[Dict[str, str]] = None) -> Optional[bool]:
        """Attribute ``name`` as bool, None when absent; ParseError when not a boolean.

        ``attrs`` (a dict copy of ``el.attrib``) is the fast path for elements with
        many flags: thousands of resources are read per snapshot.
        """
        value = (el.attrib if attrs is None else attrs).get(name)
        if value is None:
            return None
        fast = _FAST_BOOLS.get(value)
        if fast is not None:
            return fast
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise invalid(self.raw, el.sourceline or 1, f"{name}={value!r} is not a boolean")

    def number(self, el: Any, name: str) -> Optional[int]:
        """Attribute ``name`` as int (``10000ms`` and ``INFINITY`` allowed), None when absent."""
        value = el.get(name)
        if value is None or value.strip() in ("", "unknown"):
            return None
        digits = value.strip()
        if digits.endswith("ms"):
            digits = digits[:-2]
        if digits.upper().lstrip("+-") == "INFINITY":
            return -1000000 if digits.startswith("-") else 1000000
        try:
            return int(digits)
        except ValueError:
            raise invalid(
                self.raw, el.sourceline or 1, f"{name}={value!r} is not a number"
            ) from None
