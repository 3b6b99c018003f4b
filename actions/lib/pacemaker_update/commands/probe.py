"""Version probes of the cluster tools and parsers of their answers.

Real outputs these parsers are tested with:
``pcs --version`` -> ``0.11.5`` (here), ``0.9.169`` (RHEL 7.9);
``crm --version`` -> ``crm 4.4.0`` (crmsh 4.4.1 on Debian 12 reports 4.4.0);
``crm_mon --version`` -> ``Pacemaker 2.1.5`` + ``Written by ...`` (here),
``Pacemaker 1.1.23-1.el7_9.1`` (RHEL 7.9).
"""

import re
from typing import List, Optional

from pacemaker_update.errors import ParseError

_DOTTED = r"([0-9]+(?:\.[0-9]+)+[A-Za-z0-9.+~_-]*)"
_PCS = re.compile(r"\A\s*" + _DOTTED + r"\s*(?:\n|\Z)", re.ASCII)
_CRM = re.compile(r"\A\s*(?:crm(?:sh)?\s+)?" + _DOTTED + r"(?:\s|\Z)", re.ASCII)
_CRM_MON = re.compile(r"^Pacemaker\s+" + _DOTTED + r"(?:\s|$)", re.ASCII | re.MULTILINE)


def probe_pcs_argv() -> List[str]:
    """``pcs --version``: prints the bare version, needs no cluster or pcsd."""
    return ["pcs", "--version"]


def probe_crm_argv() -> List[str]:
    """``crm --version``: crmsh's version, needs no cluster."""
    return ["crm", "--version"]


def probe_crm_mon_argv() -> List[str]:
    """``crm_mon --version``: the Pacemaker version, which decides crm_mon's XML format."""
    return ["crm_mon", "--version"]


def _parse(pattern: "re.Pattern[str]", stdout: str, tool: str) -> str:
    found = pattern.search(stdout or "")
    if found is None:
        raise ParseError(
            f"could not read a version from `{tool} --version` output",
            details={"tool": tool, "stdout": (stdout or "")[:200]},
        )
    return found.group(1)


def parse_pcs_version(stdout: str) -> str:
    """The version pcs reports, e.g. ``"0.10.8"``; ParseError otherwise."""
    return _parse(_PCS, stdout, "pcs")


def parse_crm_version(stdout: str) -> str:
    """The crmsh version from ``crm X.Y.Z`` (or a bare ``X.Y.Z``)."""
    return _parse(_CRM, stdout, "crm")


def parse_crm_mon_version(stdout: str) -> str:
    """The Pacemaker version from ``Pacemaker X.Y.Z[-release]``."""
    return _parse(_CRM_MON, stdout, "crm_mon")


def parse_optional(parser_name: str, stdout: Optional[str], rc: int) -> Optional[str]:
    """A probe's version, or None when the tool is absent (rc != 0, e.g. 127)."""
    if rc != 0 or stdout is None:
        return None
    parsers = {"pcs": parse_pcs_version, "crm": parse_crm_version,
               "crm_mon": parse_crm_mon_version}
    return parsers[parser_name](stdout)
