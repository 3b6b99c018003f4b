"""Cluster operations: combine commands and transports, verify every effect in crm_mon.

Each op takes the action's ``ctx`` (actionbase.ActionContext) and returns the ``data``
of the action's envelope. Mutating ops honour ``ctx.dry_run`` (plan only, see base).
"""

from .base import CLOCK, Clock, check_node, dialect_of, forget_probes, read_state, timeout_of
from .failover import failback, failover_from
from .guard import check_maintenance_exit, enforce_maintenance_exit, refuse_unsafe_exit
from .inputs import check_list, check_method, check_packages
from .modes import set_maintenance, set_node_standby
from .packages import list_package_updates, manager_of, update_packages
from .services import restart_services, start_cluster, start_pacemaker, stop_pacemaker
from .settle import cleanup_resources, refresh_resources, wait_until_settled
from .status import cluster_status, probe_versions

__all__ = [
    "CLOCK", "Clock", "check_list", "check_maintenance_exit", "check_method", "check_node",
    "check_packages", "cleanup_resources", "cluster_status", "dialect_of",
    "enforce_maintenance_exit", "failback", "failover_from", "forget_probes",
    "list_package_updates", "manager_of", "probe_versions", "read_state", "refresh_resources",
    "refuse_unsafe_exit", "restart_services", "set_maintenance", "set_node_standby",
    "start_cluster", "start_pacemaker", "stop_pacemaker", "timeout_of", "update_packages",
    "wait_until_settled",
]
