"""pcs dialects: 0.9 (RHEL 7) and 0.10+ (RHEL 8/9, Debian 11/12).

Differences that matter here (0.9 from ClusterLabs/pcs usage of the 0.9
series and the procedure document; 0.10+/0.11.5 from ``pcs ... --help`` and
runs against a CIB file on this machine):

* standby: 0.9 ``pcs cluster standby|unstandby NODE`` (the document's form);
  0.10+ ``pcs node standby|unstandby NODE`` (0.11 has no ``cluster standby``).
* cleanup/refresh node filter: 0.9 ``--node NODE``; 0.10+ ``node=NODE``
  (0.11.5 rejects ``--node`` with "Specified option '--node' is not supported").
* ``pcs resource refresh`` only exists from 0.9.16x (RHEL 7.5); older 0.9
  only has cleanup, which then also re-probed. Not gated here: the command
  fails loudly on such a pcs.

Every node argument is always given: without one, pcs acts on the local node.
"""

from typing import List, Optional

from pacemaker_update.commands.dialect import Dialect, bool_word
from pacemaker_update.validate import validate_node_name, validate_resource_id


class _Pcs(Dialect):
    """What pcs 0.9 and 0.10+ spell the same way."""

    frontend = "pcs"

    def cluster_maintenance(self, on: bool) -> List[str]:
        """``pcs property set maintenance-mode=true|false``."""
        return ["pcs", "property", "set", "maintenance-mode=" + bool_word(on)]

    def node_maintenance(self, node: str, on: bool) -> List[str]:
        """``pcs node maintenance|unmaintenance NODE``."""
        validate_node_name(node)
        bool_word(on)
        return ["pcs", "node", "maintenance" if on else "unmaintenance", node]

    def node_standby(self, node: str, on: bool) -> List[str]:
        """``pcs node standby|unstandby NODE`` (0.10+; 0.9 overrides)."""
        validate_node_name(node)
        bool_word(on)
        return ["pcs", "node", "standby" if on else "unstandby", node]

    def resource_cleanup(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """``pcs resource cleanup [RSC]`` plus the version's node filter."""
        return self._history("cleanup", resource, node)

    def resource_refresh(self, resource: Optional[str] = None,
                         node: Optional[str] = None) -> List[str]:
        """``pcs resource refresh [RSC]`` plus the version's node filter."""
        return self._history("refresh", resource, node)

    def resource_manage(self, resource: str, on: bool) -> List[str]:
        """``pcs resource manage|unmanage RSC``."""
        validate_resource_id(resource)
        bool_word(on)
        return ["pcs", "resource", "manage" if on else "unmanage", resource]

    def cluster_start_local(self) -> List[str]:
        """``pcs cluster start``: no node means the local node, no pcsd needed."""
        return ["pcs", "cluster", "start"]

    def cluster_stop_local(self) -> List[str]:
        """``pcs cluster stop``: no node means the local node, no pcsd needed."""
        return ["pcs", "cluster", "stop"]

    def _history(self, action: str, resource: Optional[str], node: Optional[str]) -> List[str]:
        self._targets(resource, node)
        argv = ["pcs", "resource", action]
        if resource is not None:
            argv.append(resource)
        if node is not None:
            argv.extend(self._node_filter(node))
        return argv

    def _node_filter(self, node: str) -> List[str]:
        raise NotImplementedError


class Pcs09(_Pcs):
    """pcs 0.9.x (RHEL 7)."""

    name = "pcs-0.9"

    def node_standby(self, node: str, on: bool) -> List[str]:
        """``pcs cluster standby|unstandby NODE`` as in the procedure document."""
        validate_node_name(node)
        bool_word(on)
        return ["pcs", "cluster", "standby" if on else "unstandby", node]

    def _node_filter(self, node: str) -> List[str]:
        return ["--node", node]


class Pcs010(_Pcs):
    """pcs 0.10 and later (0.11.5 installed here)."""

    name = "pcs-0.10+"

    def _node_filter(self, node: str) -> List[str]:
        return ["node=" + node]
