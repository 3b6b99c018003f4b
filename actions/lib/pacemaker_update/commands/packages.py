"""Package managers: argv builders and pure parsers of their output.

``get_package_manager("yum"|"dnf"|"apt"|"zypper")``. Every manager offers
query_installed/parse_installed, check_updates/parse_updates,
update, downgrade and refresh_metadata. Package lists: ``None`` means "all
packages" (check_updates, update); an empty list is refused, so a bug
upstream can never silently widen an update to the whole system.
"""

from typing import Dict, List, Optional, Sequence

from pacemaker_update.errors import InvalidInputError
from pacemaker_update.validate import validate_package_name, validate_package_version


class PackageManager:
    """Interface; see rpm.py (yum, dnf, zypper) and apt.py."""

    name = "abstract"

    def packages(self, packages: Optional[Sequence[str]], allow_all: bool) -> List[str]:
        """Validated copy of ``packages``; [] for None when ``allow_all``."""
        if packages is None and allow_all:
            return []
        if packages is None or isinstance(packages, str) or len(packages) == 0:
            raise InvalidInputError(
                "a non-empty list of package names is required",
                details={"field": "packages", "value": repr(packages)[:80],
                         "rule": "non_empty_list"},
            )
        return [validate_package_name(p, self.name) for p in packages]

    def version(self, name: str, version: str) -> None:
        """Validate a name/version pair for downgrade."""
        validate_package_name(name, self.name)
        validate_package_version(version, self.name)

    def query_installed(self, packages: Sequence[str]) -> List[str]:
        """argv listing the installed version of each package."""
        raise NotImplementedError

    def parse_installed(self, stdout: str,
                        packages: Optional[Sequence[str]] = None) -> Dict[str, Optional[str]]:
        """{name: version or None if not installed} from query_installed's output."""
        raise NotImplementedError

    def check_updates(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """argv listing available updates (of ``packages``, or of everything)."""
        raise NotImplementedError

    def parse_updates(self, stdout: str, rc: int,
                      packages: Optional[Sequence[str]] = None) -> Dict[str, str]:
        """{name: available version} from check_updates' output and exit code."""
        raise NotImplementedError

    def update(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """argv updating ``packages`` (or everything), never asking questions."""
        raise NotImplementedError

    def downgrade(self, name: str, version: str) -> List[str]:
        """argv installing the older ``version`` of ``name``."""
        raise NotImplementedError

    def refresh_metadata(self) -> List[str]:
        """argv refreshing the repository metadata."""
        raise NotImplementedError


def filter_packages(found: Dict[str, str], packages: Optional[Sequence[str]]) -> Dict[str, str]:
    """Keep only ``packages`` (all when None)."""
    if packages is None:
        return found
    return {name: ver for name, ver in found.items() if name in packages}


def get_package_manager(name: str) -> PackageManager:
    """The manager called ``name``: yum, dnf, apt (apt-get/dpkg) or zypper."""
    from pacemaker_update.commands.apt import Apt
    from pacemaker_update.commands.rpm import Dnf, Yum, Zypper

    managers = {"yum": Yum, "dnf": Dnf, "apt": Apt, "zypper": Zypper}
    if name not in managers:
        raise InvalidInputError(
            "package manager {!r} is not one of {}".format(name, ", ".join(sorted(managers))),
            details={"field": "package_manager", "value": repr(name)[:80],
                     "rule": "package_manager"},
        )
    return managers[name]()
