"""May the next node step start inside the maintenance window? (see window.py)"""

from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.chatops.gate import check_window
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action
from pacemaker_update.window import parse_clock


class CheckMaintenanceWindow(Action):
    """Thin wrapper: config windows (or the override) → StepDecision → envelope."""

    def run(self, cluster: str, step_seconds: Optional[List[float]] = None,
            default_step_seconds: Optional[int] = None,
            safety_margin_seconds: Optional[int] = None,
            window: Optional[str] = None, enforce: bool = True,
            pause_execution: Optional[str] = None,
            now: Optional[str] = None) -> Tuple[bool, Dict[str, Any]]:
        try:
            clock = parse_clock(now)
        except PacemakerUpdateError as exc:
            return False, {"ok": False, "data": {}, "error": exc.to_dict()}
        return check_window(self.config, cluster, step_seconds or [], default_step_seconds,
                            safety_margin_seconds, window, enforce, pause_execution, clock)
