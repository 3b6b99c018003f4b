"""Package managers: argv for argv, and parsers on realistic outputs.

Where each sample comes from is said beside it. apt/dpkg samples were
captured on this machine (Debian 12); yum/dnf/zypper cannot run here, their
samples follow the tools' documented output layout (yum/dnf check-update:
"name.arch  version  repo" columns, long names wrapped, "Obsoleting Packages"
section; zypper list-updates: the "S | Repository | Name | ..." table).
"""

import pytest
from pacemaker_update.commands import get_package_manager
from pacemaker_update.commands.apt import APT_GET, DPKG_FORMAT
from pacemaker_update.commands.rpm import RPM_QUERYFORMAT
from pacemaker_update.errors import CommandFailedError, InvalidInputError, ParseError

YUM, DNF, APT, ZYPPER = (get_package_manager(n) for n in ("yum", "dnf", "apt", "zypper"))
ALL = [YUM, DNF, APT, ZYPPER]
IDS = ["yum", "dnf", "apt", "zypper"]
PKGS = ["pacemaker", "corosync"]


def test_unknown_manager_refused():
    with pytest.raises(InvalidInputError):
        get_package_manager("pacman")


# --- argv ---------------------------------------------------------------------

@pytest.mark.parametrize("manager", [YUM, DNF, ZYPPER], ids=["yum", "dnf", "zypper"])
def test_rpm_query_installed(manager):
    assert manager.query_installed(PKGS) == ["rpm", "-q", "--queryformat", RPM_QUERYFORMAT,
                                             "pacemaker", "corosync"]
    assert RPM_QUERYFORMAT == "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"


def test_apt_query_installed():
    assert APT.query_installed(PKGS) == [
        "dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Status}\\n",
        "pacemaker", "corosync"]
    assert DPKG_FORMAT.count("\\t") == 2


@pytest.mark.parametrize("manager,pkgs,expected", [
    (YUM, None, ["yum", "-q", "check-update"]),
    (YUM, PKGS, ["yum", "-q", "check-update", "pacemaker", "corosync"]),
    (DNF, PKGS, ["dnf", "-q", "check-update", "pacemaker", "corosync"]),
    (ZYPPER, None, ["zypper", "--non-interactive", "--quiet", "list-updates"]),
    (ZYPPER, PKGS, ["zypper", "--non-interactive", "--quiet", "list-updates"]),
    (APT, None, ["apt-get", "-s", "-q", "upgrade"]),
    (APT, PKGS, ["apt-get", "-s", "-q", "install", "--only-upgrade", "pacemaker", "corosync"]),
])
def test_check_updates(manager, pkgs, expected):
    assert manager.check_updates(pkgs) == expected


NONINTERACTIVE_APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
                      "-o", "Dpkg::Options::=--force-confdef",
                      "-o", "Dpkg::Options::=--force-confold"]


@pytest.mark.parametrize("manager,pkgs,expected", [
    (YUM, None, ["yum", "-y", "update"]),
    (YUM, PKGS, ["yum", "-y", "update", "pacemaker", "corosync"]),
    (DNF, None, ["dnf", "-y", "upgrade"]),
    (DNF, PKGS, ["dnf", "-y", "upgrade", "pacemaker", "corosync"]),
    (ZYPPER, None, ["zypper", "--non-interactive", "update"]),
    (ZYPPER, PKGS, ["zypper", "--non-interactive", "update", "pacemaker", "corosync"]),
    (APT, None, NONINTERACTIVE_APT + ["upgrade"]),
    (APT, PKGS, NONINTERACTIVE_APT + ["install", "--only-upgrade", "pacemaker", "corosync"]),
])
def test_update(manager, pkgs, expected):
    assert manager.update(pkgs) == expected
    assert APT_GET == NONINTERACTIVE_APT


@pytest.mark.parametrize("manager,version,expected", [
    (YUM, "1.1.21-4.el7", ["yum", "-y", "downgrade", "pacemaker-1.1.21-4.el7"]),
    (DNF, "2.1.4-5.el9", ["dnf", "-y", "downgrade", "pacemaker-2.1.4-5.el9"]),
    (ZYPPER, "2.1.2-150400.4.6.1",
     ["zypper", "--non-interactive", "install", "--oldpackage", "pacemaker=2.1.2-150400.4.6.1"]),
    (APT, "2.1.5-1", NONINTERACTIVE_APT + ["install", "--allow-downgrades", "pacemaker=2.1.5-1"]),
])
def test_downgrade(manager, version, expected):
    assert manager.downgrade("pacemaker", version) == expected


@pytest.mark.parametrize("manager,expected", [
    (YUM, ["yum", "-q", "makecache"]), (DNF, ["dnf", "-q", "makecache"]),
    (ZYPPER, ["zypper", "--non-interactive", "refresh"]), (APT, ["apt-get", "-q", "update"]),
])
def test_refresh_metadata(manager, expected):
    assert manager.refresh_metadata() == expected


@pytest.mark.parametrize("manager", ALL, ids=IDS)
@pytest.mark.parametrize("bad", ["--allow-unauthenticated", "pacemaker;reboot", "*", "pace maker",
                                 "pacemaker\n", "-y", "$(id)", "p\u0430cemaker"])
def test_bad_package_refused_everywhere(manager, bad):
    for call in (lambda: manager.query_installed([bad]),
                 lambda: manager.check_updates(["pacemaker", bad]),
                 lambda: manager.update([bad]),
                 lambda: manager.downgrade(bad, "1.0-1")):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.details["field"] == "package"


@pytest.mark.parametrize("manager", ALL, ids=IDS)
def test_empty_list_never_means_everything(manager):
    for call in (lambda: manager.update([]), lambda: manager.check_updates([]),
                 lambda: manager.query_installed([]), lambda: manager.update("pacemaker")):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.details["rule"] == "non_empty_list"


@pytest.mark.parametrize("manager", ALL, ids=IDS)
@pytest.mark.parametrize("bad", ["latest", "1.0;id", "--oldpackage", "1.0 2.0", ""])
def test_bad_downgrade_version_refused(manager, bad):
    with pytest.raises(InvalidInputError) as err:
        manager.downgrade("pacemaker", bad)
    assert err.value.details["field"] == "version"


# --- parsers ------------------------------------------------------------------

# rpm -q --queryformat RPM_QUERYFORMAT pacemaker corosync glibc nosuch: layout of
# rpm's own output (one line per installed package, multilib twice, and
# "package X is not installed" on stdout for a missing one).
RPM_Q = ("pacemaker\t1.1.23-1.el7_9.1\n"
         "corosync\t2.4.5-7.el7_9.2\n"
         "glibc\t2.17-326.el7_9\n"
         "glibc\t2.17-326.el7_9\n"
         "libfoo\t1:2.0-1.el7\n"
         "libfoo\t1:1.9-1.el7\n"
         "package nosuch is not installed\n")


def test_parse_rpm_installed():
    result = YUM.parse_installed(RPM_Q, ["pacemaker", "corosync", "glibc", "nosuch", "other"])
    assert result == {"pacemaker": "1.1.23-1.el7_9.1", "corosync": "2.4.5-7.el7_9.2",
                      "glibc": "2.17-326.el7_9", "libfoo": "1:1.9-1.el7 1:2.0-1.el7",
                      "nosuch": None, "other": None}


def test_parse_rpm_installed_garbage():
    with pytest.raises(ParseError):
        DNF.parse_installed("error: rpmdb open failed\n")


# dpkg-query -W -f DPKG_FORMAT crmsh pacemaker nosuchpkg, captured here (stdout; the
# "no packages found" line is stderr, rc 1). Plus a removed-but-configured package.
DPKG_Q = ("crmsh\t4.4.1-1+deb12u1\tinstalled\n"
          "pacemaker\t2.1.5-1+deb12u1\tinstalled\n"
          "oldpkg\t1.0-1\tconfig-files\n")


def test_parse_dpkg_installed():
    result = APT.parse_installed(DPKG_Q, ["crmsh", "pacemaker", "nosuchpkg", "oldpkg"])
    assert result == {"crmsh": "4.4.1-1+deb12u1", "pacemaker": "2.1.5-1+deb12u1",
                      "nosuchpkg": None, "oldpkg": None}


def test_parse_dpkg_installed_garbage():
    with pytest.raises(ParseError):
        APT.parse_installed("something else entirely\n")


# yum -q check-update on RHEL 7 (layout of yum's output; rc 100 with updates).
YUM_CHECK = """
pacemaker.x86_64                        1.1.23-1.el7_9.1                 updates
pacemaker-cli.x86_64                    1.1.23-1.el7_9.1                 updates
pacemaker-cluster-libs.x86_64
                                        1.1.23-1.el7_9.1                 updates
corosync.x86_64                         2.4.5-7.el7_9.2                  updates
libfoo.i686                             1:2.0-1.el7                      base
Obsoleting Packages
newthing.noarch                         1.0-1.el7                        updates
    oldthing.noarch                     0.9-1.el7                        @base
"""


def test_parse_yum_check_update():
    assert YUM.parse_updates(YUM_CHECK, 100) == {
        "pacemaker": "1.1.23-1.el7_9.1", "pacemaker-cli": "1.1.23-1.el7_9.1",
        "pacemaker-cluster-libs": "1.1.23-1.el7_9.1", "corosync": "2.4.5-7.el7_9.2",
        "libfoo": "1:2.0-1.el7"}


def test_parse_check_update_filters_and_rc():
    assert DNF.parse_updates(YUM_CHECK, 100, ["pacemaker"]) == {"pacemaker": "1.1.23-1.el7_9.1"}
    assert DNF.parse_updates("", 0) == {}
    with pytest.raises(CommandFailedError) as err:
        DNF.parse_updates("Error: Failed to download metadata for repo\n", 1)
    assert err.value.details["rc"] == 1


def test_parse_check_update_garbage():
    with pytest.raises(ParseError):
        YUM.parse_updates("this is not a table at all\n", 100)


# dnf -q check-update on RHEL 9 (same columns; dnf prints a blank first line).
DNF_CHECK = "\npacemaker.x86_64   2.1.5-9.el9_2   rhel-9-for-x86_64-highavailability-rpms\n"


def test_parse_dnf_check_update():
    assert DNF.parse_updates(DNF_CHECK, 100) == {"pacemaker": "2.1.5-9.el9_2"}


# zypper --non-interactive --quiet list-updates on SLES 15 (zypper's table layout).
ZYPPER_LU = """S | Repository                      | Name      | Current Version                        | Available Version                      | Arch
--+---------------------------------+-----------+----------------------------------------+----------------------------------------+-------
v | SLE-Product-HA15-SP4-Updates    | pacemaker | 2.1.2+20211124.ada5c3b36-150400.4.6.1  | 2.1.2+20211124.ada5c3b36-150400.4.9.2  | x86_64
v | SLE-Product-HA15-SP4-Updates    | corosync  | 2.4.6-150300.12.7.1                    | 2.4.6-150300.12.10.1                   | x86_64
v | SLE-Module-Basesystem15-SP4-Upd | glibc     | 2.31-150300.41.1                       | 2.31-150300.46.1                       | x86_64
"""  # noqa: E501


def test_parse_zypper_list_updates():
    assert ZYPPER.parse_updates(ZYPPER_LU, 0, ["pacemaker", "corosync"]) == {
        "pacemaker": "2.1.2+20211124.ada5c3b36-150400.4.9.2",
        "corosync": "2.4.6-150300.12.10.1"}
    assert len(ZYPPER.parse_updates(ZYPPER_LU, 0)) == 3
    assert ZYPPER.parse_updates("No updates found.\n", 0) == {}
    with pytest.raises(CommandFailedError):
        ZYPPER.parse_updates("", 4)
    with pytest.raises(ParseError):
        ZYPPER.parse_updates("Unexpected text\n", 0)


# apt-get -s -q install --only-upgrade curl pacemaker, captured here (Debian 12).
APT_SIM = """Reading package lists...
Building dependency tree...
Reading state information...
pacemaker is already the newest version (2.1.5-1+deb12u1).
The following packages will be upgraded:
  curl libcurl3-gnutls libcurl3-nss libcurl4
4 upgraded, 0 newly installed, 0 to remove and 120 not upgraded.
Inst curl [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64]) []
Inst libcurl4 [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst libcurl3-gnutls [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst libcurl3-nss [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf curl (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl4 (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl3-gnutls (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl3-nss (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
"""


def test_parse_apt_simulation_includes_dependencies():
    updates = APT.parse_updates(APT_SIM, 0, ["curl", "pacemaker"])
    assert updates == {name: "7.88.1-10+deb12u15"
                       for name in ("curl", "libcurl4", "libcurl3-gnutls", "libcurl3-nss")}
    with pytest.raises(CommandFailedError):
        APT.parse_updates("E: Unable to locate package nosuch\n", 100)


def test_parse_apt_new_install_line():
    line = "Inst libnew1 (1.2-3 Debian:12.15/oldstable [amd64])\n"
    assert APT.parse_updates(line, 0) == {"libnew1": "1.2-3"}
