"""Checks of action inputs that are not a single validator call (lists, method names)."""

from typing import Any, List, Optional

from ..errors import InvalidInputError
from ..safety.preflight import METHODS

MAX_ITEMS = 500


def check_list(value: Any, field: str, allow_empty: bool = False) -> List[Any]:
    """``value`` as a list (None = empty); not a list, too long or empty -> InvalidInputError."""
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_ITEMS:
        raise InvalidInputError(f"{field} must be a list of at most {MAX_ITEMS} strings",
                                details={"field": field, "value": repr(value)[:120]})
    if not value and not allow_empty:
        raise InvalidInputError(f"{field} must not be empty",
                                details={"field": field, "rule": "non_empty_list"})
    return list(value)


def check_packages(packages: Any, all_packages: bool) -> Optional[List[Any]]:
    """None (= every package) only when ``all_packages`` is explicitly true.

    An empty list never means "everything": a workflow that lost its package list must
    not widen the update to the whole system.
    """
    names = check_list(packages, "packages", allow_empty=True)
    if all_packages and names:
        raise InvalidInputError("give packages or all_packages=true, not both",
                                code="CONFLICTING_PARAMS", details={"field": "packages"})
    if all_packages:
        return None
    if not names:
        raise InvalidInputError("packages is empty: name the packages to update, or set "
                                "all_packages=true to update everything",
                                details={"field": "packages", "rule": "non_empty_list"})
    return names


def check_method(method: Any) -> str:
    """One of the five update methods."""
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {', '.join(METHODS)}",
                                details={"field": "method", "value": repr(method)[:80]})
    return str(method)
