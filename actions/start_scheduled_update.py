"""Start or resume the configured update of clusters whose maintenance window just opened."""

import datetime as dt
from typing import Any, Dict, Optional, Tuple

from pacemaker_update.chatops.gate import pack_config, start_due_updates
from pacemaker_update.detect.actions import read_reason
from pacemaker_update.detect.st2api import St2Api
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action
from pacemaker_update.window import parse_clock


class StartScheduledUpdate(Action):
    """Thin wrapper over gate.start_due_updates with the st2 API client."""

    def run(self, cluster: Optional[str] = None, lookback_minutes: int = 5,
            now: Optional[str] = None) -> Tuple[bool, Dict[str, Any]]:
        try:
            clock = parse_clock(now)
        except PacemakerUpdateError as exc:
            return False, {"ok": False, "data": {}, "error": exc.to_dict()}
        try:
            outcomes = start_due_updates(
                St2Api.from_env(), dict(self.config or {}), pack_config(self.config), clock,
                dt.timedelta(minutes=lookback_minutes), cluster,
                pause_reason=lambda name: read_reason(self.action_service, name))
        except PacemakerUpdateError as exc:
            return False, {"ok": False, "data": {}, "error": exc.to_dict()}
        return True, {"ok": True, "data": {"clusters": outcomes}, "error": None}
