"""rpm-based managers: yum (RHEL 7), dnf (RHEL 8+), zypper (SUSE).

Installed versions come from ``rpm -q --queryformat`` for all three; the
format prints ``NAME<TAB>[EPOCH:]VERSION-RELEASE`` per installed package
(rpm expands ``\\t``/``\\n`` itself; no shell is involved), and rpm prints
``package X is not installed`` (exit code = number missing) otherwise.
"""

import re
from typing import Dict, List, Optional, Sequence

from pacemaker_update.commands.packages import PackageManager, filter_packages
from pacemaker_update.errors import CommandFailedError, ParseError

RPM_QUERYFORMAT = r"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n"
_NOT_INSTALLED = re.compile(r"^package (\S+) is not installed$")
_UPDATE_LINE = re.compile(r"^(\S+)\.([A-Za-z0-9_]+)\s+(\S+)\s+(\S+)$")


class _Rpm(PackageManager):
    tool = "abstract"

    def query_installed(self, packages: Sequence[str]) -> List[str]:
        """``rpm -q --queryformat FMT PKG...``."""
        return ["rpm", "-q", "--queryformat", RPM_QUERYFORMAT] + self.packages(packages, False)

    def parse_installed(self, stdout: str,
                        packages: Optional[Sequence[str]] = None) -> Dict[str, Optional[str]]:
        """Several lines for one name (multilib) are joined by ' ', sorted."""
        found: Dict[str, Optional[str]] = {name: None for name in packages or ()}
        seen: Dict[str, List[str]] = {}
        for line in stdout.splitlines():
            missing = _NOT_INSTALLED.match(line.strip())
            if missing:
                found[missing.group(1)] = None
            elif "\t" in line:
                name, _, version = line.strip().partition("\t")
                seen.setdefault(name, []).append(version)
            elif line.strip():
                raise ParseError("unexpected rpm -q output line",
                                 details={"line": line[:200]})
        for name, versions in seen.items():
            found[name] = " ".join(sorted(set(versions)))
        return found

    def parse_updates(self, stdout: str, rc: int,
                      packages: Optional[Sequence[str]] = None) -> Dict[str, str]:
        """check-update: rc 100 = updates listed, 0 = none, else failure."""
        if rc == 0:
            return {}
        if rc != 100:
            raise CommandFailedError(f"{self.tool} check-update failed",
                                     details={"rc": rc, "stdout": stdout[-500:]})
        return filter_packages(_parse_check_update(stdout), packages)

    def check_updates(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """``yum|dnf -q check-update [PKG...]``."""
        return [self.tool, "-q", "check-update"] + self.packages(packages, True)

    def downgrade(self, name: str, version: str) -> List[str]:
        """``yum|dnf -y downgrade NAME-VERSION``."""
        self.version(name, version)
        return [self.tool, "-y", "downgrade", f"{name}-{version}"]

    def refresh_metadata(self) -> List[str]:
        """``yum|dnf -q makecache``."""
        return [self.tool, "-q", "makecache"]


def _parse_check_update(stdout: str) -> Dict[str, str]:
    """``name.arch  version  repo`` lines; long names wrap onto the next line."""
    found: Dict[str, str] = {}
    pending = ""
    for raw in stdout.splitlines():
        line = raw.strip()
        if line.startswith(("Obsoleting Packages", "Security:")):
            break
        if not line or line.startswith(("Last metadata", "Loaded plugins", "Loading mirror")):
            continue
        line = (pending + " " + line).strip() if pending else line
        pending = ""
        if len(line.split()) < 3:
            pending = line
            continue
        match = _UPDATE_LINE.match(line)
        if match is None:
            raise ParseError("unexpected check-update output line", details={"line": line[:200]})
        found[match.group(1)] = match.group(3)
    return found


class Yum(_Rpm):
    """yum (RHEL/CentOS 7)."""

    name = tool = "yum"

    def update(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """``yum -y update [PKG...]``."""
        return ["yum", "-y", "update"] + self.packages(packages, True)


class Dnf(_Rpm):
    """dnf (RHEL 8+, Fedora)."""

    name = tool = "dnf"

    def update(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """``dnf -y upgrade [PKG...]``."""
        return ["dnf", "-y", "upgrade"] + self.packages(packages, True)


class Zypper(_Rpm):
    """zypper (SLES, openSUSE)."""

    name = tool = "zypper"

    def check_updates(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """``zypper --non-interactive --quiet list-updates`` (filtered when parsed)."""
        self.packages(packages, True)
        return ["zypper", "--non-interactive", "--quiet", "list-updates"]

    def parse_updates(self, stdout: str, rc: int,
                      packages: Optional[Sequence[str]] = None) -> Dict[str, str]:
        """The ``S | Repository | Name | Current Version | Available Version`` table."""
        if rc != 0:
            raise CommandFailedError("zypper list-updates failed",
                                     details={"rc": rc, "stdout": stdout[-500:]})
        found: Dict[str, str] = {}
        columns: List[str] = []
        for line in stdout.splitlines():
            cells = [cell.strip() for cell in line.split("|")]
            if not columns:
                if "Name" in cells and "Available Version" in cells:
                    columns = cells
                continue
            if len(cells) != len(columns) or set(line.strip()) <= set("-+"):
                continue
            row = dict(zip(columns, cells))
            found[row["Name"]] = row["Available Version"]
        if not columns and stdout.strip() and "No updates found" not in stdout:
            raise ParseError("no update table in zypper output", details={"stdout": stdout[:300]})
        return filter_packages(found, packages)

    def update(self, packages: Optional[Sequence[str]] = None) -> List[str]:
        """``zypper --non-interactive update [PKG...]``."""
        return ["zypper", "--non-interactive", "update"] + self.packages(packages, True)

    def downgrade(self, name: str, version: str) -> List[str]:
        """``zypper --non-interactive install --oldpackage NAME=VERSION``."""
        self.version(name, version)
        return ["zypper", "--non-interactive", "install", "--oldpackage",
                f"{name}={version}"]

    def refresh_metadata(self) -> List[str]:
        """``zypper --non-interactive refresh``."""
        return ["zypper", "--non-interactive", "refresh"]
