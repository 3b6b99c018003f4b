"""The Dialect interface: one object per cluster front end (crmsh, pcs 0.9, pcs 0.10+).

Every method returns a fresh argv list and validates its inputs first, so a
bad node name or resource id raises InvalidInputError before any argv exists.
Status commands are crm_mon for all dialects: one parser, one truth.
"""

from typing import List, Optional

from pacemaker_update.commands import crm_mon
from pacemaker_update.errors import InvalidInputError, UnsupportedError
from pacemaker_update.validate import validate_node_name, validate_resource_id


class Dialect:
    """Base of the front-end dialects; subclasses fill in the cluster commands."""

    name = "abstract"
    frontend = "abstract"

    def __init__(self, version: Optional[str] = None, pacemaker_version: Optional[str] = None):
        self.version = version
        self.pacemaker_version = pacemaker_version

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(version={self.version!r}, "
                f"pacemaker_version={self.pacemaker_version!r})")

    def status_xml(self) -> List[str]:
        """crm_mon one-shot XML (format chosen by the Pacemaker version)."""
        return crm_mon.status_xml_argv(self.pacemaker_version)

    def status_text(self) -> List[str]:
        """crm_mon -rfA1, the status view the update procedure shows people."""
        return crm_mon.status_text_argv()

    def cluster_maintenance(self, on: bool) -> List[str]:
        """Set the cluster-wide maintenance-mode property to true/false."""
        raise self._unsupported("cluster_maintenance")

    def node_maintenance(self, node: str, on: bool) -> List[str]:
        """Put one node into (on) or out of (off) maintenance."""
        raise self._unsupported("node_maintenance")

    def node_standby(self, node: str, on: bool) -> List[str]:
        """Put one node into standby (on) or back online (off)."""
        raise self._unsupported("node_standby")

    def resource_cleanup(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """Forget failed operations of a resource (all if None) on a node (all if None)."""
        raise self._unsupported("resource_cleanup")

    def resource_refresh(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """Forget the whole operation history and re-probe (all if None)."""
        raise self._unsupported("resource_refresh")

    def resource_manage(self, resource: str, on: bool) -> List[str]:
        """Set a resource managed (on) or unmanaged (off)."""
        raise self._unsupported("resource_manage")

    def cluster_start_local(self) -> List[str]:
        """Start corosync + pacemaker on the node the command runs on."""
        raise self._unsupported("cluster_start_local")

    def cluster_stop_local(self) -> List[str]:
        """Stop pacemaker + corosync on the node the command runs on."""
        raise self._unsupported("cluster_stop_local")

    def _unsupported(self, operation: str) -> UnsupportedError:
        return UnsupportedError(
            "{} cannot {}".format(self.name, operation.replace("_", " ")),
            details={"dialect": self.name, "version": self.version, "operation": operation},
        )

    @staticmethod
    def _targets(resource: Optional[str], node: Optional[str]) -> None:
        """Validate the optional resource/node pair of cleanup and refresh."""
        if resource is not None:
            validate_resource_id(resource)
        if node is not None:
            validate_node_name(node)


def bool_word(on: bool) -> str:
    """Pacemaker's spelling of a boolean property value."""
    # Strictly a bool: "off" is truthy and would do the opposite of what was meant.
    if not isinstance(on, bool):
        raise InvalidInputError(
            f"expected true or false, got {on!r}",
            details={"field": "on", "value": repr(on)[:80], "rule": "bool"},
        )
    return "true" if on else "false"
