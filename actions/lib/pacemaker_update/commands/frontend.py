"""Choosing the front end of a cluster and the dialect that speaks it."""

from typing import Optional, Tuple

from pacemaker_update.commands.crmsh import Crmsh
from pacemaker_update.commands.dialect import Dialect
from pacemaker_update.commands.pcs import Pcs010, Pcs09
from pacemaker_update.commands.versions import version_at_least
from pacemaker_update.errors import InvalidInputError, UnsupportedError

FRONTENDS = ("crmsh", "pcs")
PCS_010 = (0, 10)
# Both installed (Debian 12, Linux-HA Japan builds): pcs speaks for the cluster
# without crmsh's silent ping-and-skip of unreachable nodes on standby/online.
DEFAULT_PREFERENCE = "pcs"


def _check_frontend(frontend: object) -> str:
    if frontend not in FRONTENDS:
        raise InvalidInputError(
            "front end {!r} is not one of {}".format(frontend, ", ".join(FRONTENDS)),
            details={"field": "frontend", "value": repr(frontend)[:80], "rule": "frontend"},
        )
    return str(frontend)


def get_dialect(frontend: str, version: Optional[str] = None,
                pacemaker_version: Optional[str] = None) -> Dialect:
    """The dialect for ``frontend`` ("crmsh" or "pcs") at ``version``.

    pcs < 0.10 -> Pcs09, >= 0.10 -> Pcs010. An unknown pcs version is refused:
    guessing the standby syntax wrong would fail mid-update. Unknown crmsh
    versions are fine (its commands here did not change).
    ``pacemaker_version`` (from crm_mon --version) picks crm_mon's XML format.
    """
    frontend = _check_frontend(frontend)
    if frontend == "crmsh":
        return Crmsh(version, pacemaker_version)
    if version is None:
        raise UnsupportedError(
            "the pcs version is needed to choose between pcs 0.9 and 0.10+ syntax",
            details={"frontend": frontend}, hint="probe it with `pcs --version`",
        )
    if version_at_least(version, PCS_010):
        return Pcs010(version, pacemaker_version)
    return Pcs09(version, pacemaker_version)


def choose_frontend(pcs_version: Optional[str], crm_version: Optional[str],
                    forced: Optional[str] = None,
                    prefer: str = DEFAULT_PREFERENCE) -> Tuple[str, str]:
    """(frontend, version) from probe results; a version of None means not installed.

    ``forced`` (from config) wins but must be installed; otherwise the only
    installed one, or ``prefer`` when both are. Neither -> UnsupportedError.
    """
    found = {"pcs": pcs_version, "crmsh": crm_version}
    if forced is not None:
        forced = _check_frontend(forced)
        version = found[forced]
        if version is None:
            raise UnsupportedError(
                f"the configuration forces {forced} but it was not found on the node",
                details={"forced": forced, "found": found},
                hint=f"install {forced} or change the frontend setting",
            )
        return forced, version
    prefer = _check_frontend(prefer)
    installed = [name for name in (prefer, "pcs", "crmsh") if found[name] is not None]
    if not installed:
        raise UnsupportedError(
            "neither pcs nor crmsh (crm) was found on the node",
            details={"found": found}, hint="install pcs or crmsh",
        )
    chosen = installed[0]
    return chosen, str(found[chosen])
