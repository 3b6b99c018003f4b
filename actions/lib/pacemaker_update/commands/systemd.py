"""systemctl argv. Units are validated; actions come from a closed list."""

from typing import List, Optional

from pacemaker_update.errors import InvalidInputError
from pacemaker_update.validate import validate_unit_name

UNIT_ACTIONS = ("start", "stop", "restart", "is-active", "is-enabled",
                "enable", "disable", "status")
NO_UNIT_ACTIONS = ("daemon-reload",)


def systemctl(action: str, unit: Optional[str] = None) -> List[str]:
    """``systemctl ACTION UNIT`` (or ``systemctl daemon-reload``).

    is-active/is-enabled answer through the exit code (0 = yes), status
    exits 3 for a stopped unit: callers read rc, not just "failed or not".
    """
    if action in NO_UNIT_ACTIONS:
        if unit is not None:
            raise InvalidInputError(
                f"systemctl {action} takes no unit",
                details={"field": "unit", "value": repr(unit)[:80], "rule": "no_unit"},
            )
        return ["systemctl", action]
    if action not in UNIT_ACTIONS:
        raise InvalidInputError(
            "systemctl action {!r} is not one of {}".format(
                action, ", ".join(UNIT_ACTIONS + NO_UNIT_ACTIONS)),
            details={"field": "action", "value": repr(action)[:80], "rule": "systemctl_action"},
        )
    validate_unit_name(unit)
    return ["systemctl", action, str(unit)]
