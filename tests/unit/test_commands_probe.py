"""Version probes, version parsing and systemctl argv."""

import pytest
from pacemaker_update.commands import (
    parse_crm_mon_version,
    parse_crm_version,
    parse_pcs_version,
    probe_crm_argv,
    probe_crm_mon_argv,
    probe_pcs_argv,
    systemctl,
    version_at_least,
    version_tuple,
)
from pacemaker_update.commands.probe import parse_optional
from pacemaker_update.errors import InvalidInputError, ParseError

# Captured on this machine (Debian 12): `pcs --version`, `crm --version`, `crm_mon --version`.
HERE_PCS = "0.11.5\n"
HERE_CRM = "crm 4.4.0\n"
HERE_CRM_MON = "Pacemaker 2.1.5\nWritten by Andrew Beekhof and the Pacemaker project contributors\n"
# RHEL 7.9 era: pcs prints its bare version; Pacemaker 1.1's crm_help('$') prints
# "Pacemaker %s\nWritten by Andrew Beekhof\n" with the packaged version-release.
RHEL7_PCS = "0.9.169\n"
RHEL7_CRM_MON = "Pacemaker 1.1.23-1.el7_9.1\nWritten by Andrew Beekhof\n"
# SUSE builds carry a +date.hash suffix.
SUSE_CRM_MON = "Pacemaker 2.1.2+20211124.ada5c3b36-150400.4.9.2\nWritten by Andrew Beekhof\n"


def test_probe_argv():
    assert probe_pcs_argv() == ["pcs", "--version"]
    assert probe_crm_argv() == ["crm", "--version"]
    assert probe_crm_mon_argv() == ["crm_mon", "--version"]


@pytest.mark.parametrize("parser,stdout,expected", [
    (parse_pcs_version, HERE_PCS, "0.11.5"),
    (parse_pcs_version, RHEL7_PCS, "0.9.169"),
    (parse_pcs_version, "0.10.8\n", "0.10.8"),
    (parse_crm_version, HERE_CRM, "4.4.0"),
    (parse_crm_version, "crm 3.0.1\n", "3.0.1"),
    (parse_crm_version, "crm 4.6.0+20240227.1ccea9e8\n", "4.6.0+20240227.1ccea9e8"),
    (parse_crm_mon_version, HERE_CRM_MON, "2.1.5"),
    (parse_crm_mon_version, RHEL7_CRM_MON, "1.1.23-1.el7_9.1"),
    (parse_crm_mon_version, SUSE_CRM_MON, "2.1.2+20211124.ada5c3b36-150400.4.9.2"),
])
def test_parse_versions(parser, stdout, expected):
    assert parser(stdout) == expected


@pytest.mark.parametrize("parser", [parse_pcs_version, parse_crm_version, parse_crm_mon_version])
@pytest.mark.parametrize("stdout", ["", "bash: pcs: command not found\n", "Usage: ...\n",
                                    "version unknown\n"])
def test_unparseable_versions(parser, stdout):
    with pytest.raises(ParseError) as err:
        parser(stdout)
    assert err.value.code == "PARSE_ERROR"


def test_parse_optional_absent_tool_is_none():
    assert parse_optional("pcs", "", 127) is None
    assert parse_optional("crm", HERE_CRM, 0) == "4.4.0"


@pytest.mark.parametrize("version,expected", [
    ("0.9.169", (0, 9, 169)), ("1.1.23-1.el7_9.1", (1, 1, 23)), ("2.1.5", (2, 1, 5)),
    ("2.1.2+20211124.ada5c3b36", (2, 1, 2)), ("0.10", (0, 10)),
])
def test_version_tuple(version, expected):
    assert version_tuple(version) == expected


def test_version_at_least_pads_missing_parts():
    assert version_at_least("0.10", (0, 10, 0))
    assert not version_at_least("0.9.169", (0, 10))
    assert version_at_least("2.0.3", (2, 0, 3))
    assert not version_at_least("2.0.2", (2, 0, 3))


def test_version_tuple_refuses_garbage():
    with pytest.raises(InvalidInputError):
        version_tuple("latest")


@pytest.mark.parametrize("action", ["start", "stop", "restart", "is-active", "is-enabled",
                                    "enable", "disable", "status"])
def test_systemctl_unit_actions(action):
    assert systemctl(action, "pacemaker") == ["systemctl", action, "pacemaker"]


def test_systemctl_daemon_reload():
    assert systemctl("daemon-reload") == ["systemctl", "daemon-reload"]
    with pytest.raises(InvalidInputError):
        systemctl("daemon-reload", "pacemaker")


@pytest.mark.parametrize("action", ["kill", "mask", "reboot", "start;", "--now", "", "isolate"])
def test_systemctl_refuses_other_actions(action):
    with pytest.raises(InvalidInputError) as err:
        systemctl(action, "pacemaker")
    assert err.value.details["field"] == "action"


@pytest.mark.parametrize("unit", [None, "", "--all", "pace maker", "pacemaker;reboot", "*",
                                  "pacemaker\n", "pacem\u0430ker"])
def test_systemctl_refuses_bad_units(unit):
    with pytest.raises(InvalidInputError) as err:
        systemctl("stop", unit)
    assert err.value.details["field"] == "unit"
