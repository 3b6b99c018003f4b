"""Install the pacemaker_update alert agent on every node and register it in the CIB."""

from typing import Any, Dict, Optional

from pacemaker_update.actionbase import ActionContext, ClusterAction
from pacemaker_update.detect.install import install_alert_agent


class InstallAlertAgent(ClusterAction):
    """Copy alert_agent.sh (and the API key file) to each node; add the <alert> once."""

    def execute(self, ctx: ActionContext, recipient_url: str = "",  # type: ignore[override]
                api_key: Optional[str] = None, **_: Any) -> Dict[str, Any]:
        """Per-node install, then one cibadmin registration (dry-run aware)."""
        return install_alert_agent(ctx, recipient_url, api_key)
