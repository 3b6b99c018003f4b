"""Pure argv builders and output parsers: no I/O happens in this package.

Front ends: ``get_dialect(frontend, version, pacemaker_version)`` -> Crmsh,
Pcs09 or Pcs010, after ``choose_frontend`` picked one from the version probes.
Also ``systemctl`` and ``get_package_manager``.
"""

from pacemaker_update.commands.crmsh import Crmsh
from pacemaker_update.commands.dialect import Dialect
from pacemaker_update.commands.frontend import choose_frontend, get_dialect
from pacemaker_update.commands.packages import PackageManager, get_package_manager
from pacemaker_update.commands.pcs import Pcs010, Pcs09
from pacemaker_update.commands.probe import (
    parse_crm_mon_version,
    parse_crm_version,
    parse_pcs_version,
    probe_crm_argv,
    probe_crm_mon_argv,
    probe_pcs_argv,
)
from pacemaker_update.commands.systemd import systemctl
from pacemaker_update.commands.versions import version_at_least, version_tuple

__all__ = [
    "Crmsh", "Dialect", "PackageManager", "Pcs09", "Pcs010", "choose_frontend",
    "get_dialect", "get_package_manager", "parse_crm_mon_version", "parse_crm_version",
    "parse_pcs_version", "probe_crm_argv", "probe_crm_mon_argv", "probe_pcs_argv",
    "systemctl", "version_at_least", "version_tuple",
]
