"""crmsh (``crm``) dialect, as used on SUSE and with Linux-HA Japan packages.

Quirk (seen live with crmsh 4.4.1, see notes/pacemaker-lab.md): ``crm node
standby NODE`` and ``crm node online NODE`` first run ``ping -c1 NODE`` and,
when the node does not answer, print a warning and *skip it with rc 0*.
A zero exit status therefore proves nothing; the ops layer must verify the
node's ``standby`` attribute in crm_mon. ``crm node online`` also needs
``crm_node -l`` (a running controller).

crmsh builds some shell strings itself (``utils.ext_cmd``), which is one more
reason every name is validated before it gets here.
"""

from typing import List, Optional

from pacemaker_update.commands.dialect import Dialect, bool_word
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.validate import validate_node_name, validate_resource_id

# crm resource cleanup/refresh read a positional "force" as the force flag.
RESERVED_WORDS = ("force",)


class Crmsh(Dialect):
    """Commands as the procedure document gives them for crmsh."""

    name = "crmsh"
    frontend = "crmsh"

    def cluster_maintenance(self, on: bool) -> List[str]:
        """``crm configure property maintenance-mode=true|false``."""
        return ["crm", "configure", "property", "maintenance-mode=" + bool_word(on)]

    def node_maintenance(self, node: str, on: bool) -> List[str]:
        """``crm node maintenance NODE`` / ``crm node ready NODE``."""
        validate_node_name(node)
        return ["crm", "node", "maintenance" if _on(on) else "ready", node]

    def node_standby(self, node: str, on: bool) -> List[str]:
        """``crm node standby NODE`` / ``crm node online NODE`` (see module quirk)."""
        validate_node_name(node)
        return ["crm", "node", "standby" if _on(on) else "online", node]

    def resource_cleanup(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """``crm resource cleanup [RSC] [NODE]``; node-only: ``crm_resource``."""
        return self._history("cleanup", resource, node)

    def resource_refresh(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """``crm resource refresh [RSC] [NODE]``; node-only: ``crm_resource``."""
        return self._history("refresh", resource, node)

    def resource_manage(self, resource: str, on: bool) -> List[str]:
        """``crm resource manage|unmanage RSC``."""
        validate_resource_id(resource)
        return ["crm", "resource", "manage" if _on(on) else "unmanage", resource]

    def cluster_start_local(self) -> List[str]:
        """``crm cluster start``: no node argument means this node."""
        return ["crm", "cluster", "start"]

    def cluster_stop_local(self) -> List[str]:
        """``crm cluster stop``: no node argument means this node."""
        return ["crm", "cluster", "stop"]

    def _history(self, action: str, resource: Optional[str], node: Optional[str]) -> List[str]:
        self._targets(resource, node)
        for field, value in (("resource", resource), ("node", node)):
            if value in RESERVED_WORDS:
                raise InvalidInputError(
                    f"{field} {value!r} is a crmsh keyword here: crm would read it as"
                    " the force flag",
                    details={"field": field, "value": repr(value), "rule": "crmsh_reserved"},
                )
        if resource is None and node is not None:
            # crm's arguments are positional ([rsc] [node]): a lone node would be
            # read as a resource. crmsh itself runs crm_resource, so do that.
            return ["crm_resource", "--" + action, "--node", node]
        argv = ["crm", "resource", action]
        if resource is not None:
            argv.append(resource)
        if node is not None:
            argv.append(node)
        return argv


def _on(on: bool) -> bool:
    bool_word(on)
    return on
