"""apt (Debian/Ubuntu): dpkg-query for installed versions, apt-get for the rest.

apt-get, not apt: apt warns it "does not have a stable CLI interface".
Non-interactive: DEBIAN_FRONTEND=noninteractive via ``env`` (the transport
takes an argv, not an environment) and dpkg keeping changed config files.
"""

import re
from typing import Dict, List, Optional, Sequence

from pacemaker_update.commands.packages import PackageManager
from pacemaker_update.errors import CommandFailedError, ParseError

DPKG_FORMAT = "${Package}\\t${Version}\\t${db:Status-Status}\\n"
APT_GET = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
           "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) ")
_NOT_FOUND = re.compile(r"^dpkg-query: no packages found matching (\S+)$")


class Apt(PackageManager):
    """apt-get + dpkg-query."""

    name = "apt"

    def query_installed(self, packages: Sequence[str]) -> List[str]:
        """``dpkg-query -W -f FMT PKG...`` (exit 1 when one is unknown: not an error)."""
        return ["dpkg-query", "-W", "-f", DPKG_FORMAT] + self.packages(packages, False)

    def parse_installed(self, stdout: str,
                        packages: Optional[Sequence[str]] = None) -> Dict[str, Optional[str]]:
        """Only status "installed" counts; removed-with-config ("config-files") is None."""
        found: Dict[str, Optional[str]] = {name: None for name in packages or ()}
        for line in stdout.splitlines():
            if not line.strip() or _NOT_FOUND.match(line.strip()):
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise ParseError("unexpected dpkg-query output line", details={"line": line[:200]})
            name, version, status = parts
            found[name] = version if status.strip() == "installed" and version else None
        return found

    def check_updates(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """A simulation (-s) of exactly what update() would do."""
        return ["apt-get", "-s", "-q"] + self._what(packages)

    def parse_updates(self, stdout: str, rc: int,
                      packages: Optional[Sequence[str]] = None) -> Dict[str, str]:
        """``Inst NAME [OLD] (NEW SUITE [ARCH])`` lines of the simulation.

        Not filtered by ``packages``: the simulation lists exactly what
        update(packages) would change, dependencies included, which is what a
        person approving the update needs to see.
        """
        if rc != 0:
            raise CommandFailedError("apt-get simulation failed",
                                     details={"rc": rc, "stdout": stdout[-500:]})
        found: Dict[str, str] = {}
        for line in stdout.splitlines():
            match = _INST.match(line)
            if match:
                found[match.group(1)] = match.group(3)
        return found

    def update(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """Everything: ``apt-get upgrade``; named: ``install --only-upgrade PKG...``."""
        return APT_GET + self._what(packages)

    def downgrade(self, name: str, version: str) -> List[str]:
        """``apt-get install --allow-downgrades NAME=VERSION``."""
        self.version(name, version)
        return APT_GET + ["install", "--allow-downgrades", f"{name}={version}"]

    def refresh_metadata(self) -> List[str]:
        """``apt-get -q update``."""
        return ["apt-get", "-q", "update"]

    def _what(self, packages: Optional[Sequence[str]]) -> List[str]:
        names = self.packages(packages, True)
        if not names:
            return ["upgrade"]
        return ["install", "--only-upgrade"] + names
