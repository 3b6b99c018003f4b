"""Dotted version strings of cluster tools, compared as integer tuples."""

import re
from typing import Tuple

from pacemaker_update.errors import InvalidInputError

_LEADING = re.compile(r"[0-9]+(\.[0-9]+)*", re.ASCII)


def version_tuple(version: str) -> Tuple[int, ...]:
    """``"1.1.23-1.el7_9.1"`` -> ``(1, 1, 23)``: the leading dotted numbers only.

    Distribution suffixes (release, git hash) do not change which syntax a
    tool speaks, so they are ignored.
    """
    found = _LEADING.match(version.strip()) if isinstance(version, str) else None
    if found is None:
        raise InvalidInputError(
            f"version {version!r} does not start with a dotted number",
            details={"field": "version", "value": repr(version)[:80], "rule": "dotted_version"},
        )
    return tuple(int(part) for part in found.group(0).split("."))


def version_at_least(version: str, minimum: Tuple[int, ...]) -> bool:
    """True when ``version`` is ``minimum`` or newer (missing parts count as 0)."""
    have = version_tuple(version)
    width = max(len(have), len(minimum))
    return have + (0,) * (width - len(have)) >= minimum + (0,) * (width - len(minimum))
