"""Dialects: argv for argv for every operation of crmsh, pcs 0.9 and pcs 0.10+.

Expected argv come from the procedure document (seed), `crm help ...` of
crmsh 4.4.1 and `pcs ... --help` of pcs 0.11.5 here, and pcs 0.9's usage.
"""

import pytest
from pacemaker_update.commands import Crmsh, Pcs010, Pcs09, choose_frontend, get_dialect
from pacemaker_update.errors import InvalidInputError, UnsupportedError

CRMSH = get_dialect("crmsh", "4.4.0", "2.1.5")
PCS09 = get_dialect("pcs", "0.9.169", "1.1.23-1.el7_9.1")
PCS010 = get_dialect("pcs", "0.11.5", "2.1.5")

EXPECTED = {
    "cluster_maintenance(True)": (
        ("cluster_maintenance", (True,)),
        ["crm", "configure", "property", "maintenance-mode=true"],
        ["pcs", "property", "set", "maintenance-mode=true"],
        ["pcs", "property", "set", "maintenance-mode=true"],
    ),
    "cluster_maintenance(False)": (
        ("cluster_maintenance", (False,)),
        ["crm", "configure", "property", "maintenance-mode=false"],
        ["pcs", "property", "set", "maintenance-mode=false"],
        ["pcs", "property", "set", "maintenance-mode=false"],
    ),
    "node_maintenance on": (
        ("node_maintenance", ("server2", True)),
        ["crm", "node", "maintenance", "server2"],
        ["pcs", "node", "maintenance", "server2"],
        ["pcs", "node", "maintenance", "server2"],
    ),
    "node_maintenance off": (
        ("node_maintenance", ("server2", False)),
        ["crm", "node", "ready", "server2"],
        ["pcs", "node", "unmaintenance", "server2"],
        ["pcs", "node", "unmaintenance", "server2"],
    ),
    "node_standby on": (
        ("node_standby", ("server1", True)),
        ["crm", "node", "standby", "server1"],
        ["pcs", "cluster", "standby", "server1"],
        ["pcs", "node", "standby", "server1"],
    ),
    "node_standby off": (
        ("node_standby", ("server1", False)),
        ["crm", "node", "online", "server1"],
        ["pcs", "cluster", "unstandby", "server1"],
        ["pcs", "node", "unstandby", "server1"],
    ),
    "cleanup all": (
        ("resource_cleanup", ()),
        ["crm", "resource", "cleanup"],
        ["pcs", "resource", "cleanup"],
        ["pcs", "resource", "cleanup"],
    ),
    "cleanup rsc": (
        ("resource_cleanup", ("vip",)),
        ["crm", "resource", "cleanup", "vip"],
        ["pcs", "resource", "cleanup", "vip"],
        ["pcs", "resource", "cleanup", "vip"],
    ),
    "cleanup rsc node": (
        ("resource_cleanup", ("vip", "server1")),
        ["crm", "resource", "cleanup", "vip", "server1"],
        ["pcs", "resource", "cleanup", "vip", "--node", "server1"],
        ["pcs", "resource", "cleanup", "vip", "node=server1"],
    ),
    "cleanup node only": (
        ("resource_cleanup", (None, "server1")),
        ["crm_resource", "--cleanup", "--node", "server1"],
        ["pcs", "resource", "cleanup", "--node", "server1"],
        ["pcs", "resource", "cleanup", "node=server1"],
    ),
    "refresh all": (
        ("resource_refresh", ()),
        ["crm", "resource", "refresh"],
        ["pcs", "resource", "refresh"],
        ["pcs", "resource", "refresh"],
    ),
    "refresh rsc node": (
        ("resource_refresh", ("vip", "server1")),
        ["crm", "resource", "refresh", "vip", "server1"],
        ["pcs", "resource", "refresh", "vip", "--node", "server1"],
        ["pcs", "resource", "refresh", "vip", "node=server1"],
    ),
    "refresh node only": (
        ("resource_refresh", (None, "server2")),
        ["crm_resource", "--refresh", "--node", "server2"],
        ["pcs", "resource", "refresh", "--node", "server2"],
        ["pcs", "resource", "refresh", "node=server2"],
    ),
    "manage": (
        ("resource_manage", ("vip", True)),
        ["crm", "resource", "manage", "vip"],
        ["pcs", "resource", "manage", "vip"],
        ["pcs", "resource", "manage", "vip"],
    ),
    "unmanage": (
        ("resource_manage", ("vip", False)),
        ["crm", "resource", "unmanage", "vip"],
        ["pcs", "resource", "unmanage", "vip"],
        ["pcs", "resource", "unmanage", "vip"],
    ),
    "start local": (
        ("cluster_start_local", ()),
        ["crm", "cluster", "start"], ["pcs", "cluster", "start"], ["pcs", "cluster", "start"],
    ),
    "stop local": (
        ("cluster_stop_local", ()),
        ["crm", "cluster", "stop"], ["pcs", "cluster", "stop"], ["pcs", "cluster", "stop"],
    ),
    "status text": (
        ("status_text", ()),
        ["crm_mon", "-rfA1"], ["crm_mon", "-rfA1"], ["crm_mon", "-rfA1"],
    ),
    "status xml": (
        ("status_xml", ()),
        ["crm_mon", "-1", "--output-as=xml"],  # Pacemaker 2.1.5
        ["crm_mon", "-1", "-X"],  # Pacemaker 1.1.23 (RHEL 7)
        ["crm_mon", "-1", "--output-as=xml"],
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
@pytest.mark.parametrize("index,dialect", [(1, CRMSH), (2, PCS09), (3, PCS010)],
                         ids=["crmsh", "pcs09", "pcs010"])
def test_argv(case, index, dialect):
    (method, args), *_ = EXPECTED[case]
    assert getattr(dialect, method)(*args) == EXPECTED[case][index]


def test_argv_is_a_fresh_list_each_call():
    first = PCS010.node_standby("server1", True)
    first.append("--all")
    assert PCS010.node_standby("server1", True) == ["pcs", "node", "standby", "server1"]


@pytest.mark.parametrize("version,cls", [
    ("0.9.169", Pcs09), ("0.9.143", Pcs09), ("0.9", Pcs09), ("0.10.1", Pcs010),
    ("0.10", Pcs010), ("0.10.8-1.el8", Pcs010), ("0.11.5", Pcs010), ("0.12.1", Pcs010),
    ("1.0", Pcs010),
])
def test_pcs_version_picks_dialect(version, cls):
    dialect = get_dialect("pcs", version)
    assert type(dialect) is cls
    assert dialect.version == version


def test_crmsh_version_optional():
    assert type(get_dialect("crmsh", None)) is Crmsh


def test_pcs_without_version_refused():
    with pytest.raises(UnsupportedError):
        get_dialect("pcs", None)


@pytest.mark.parametrize("frontend", ["crm", "PCS", "", None, "pcs; reboot"])
def test_unknown_frontend_refused(frontend):
    with pytest.raises(InvalidInputError):
        get_dialect(frontend, "0.11.5")


@pytest.mark.parametrize("pacemaker,argv_tail", [
    ("2.1.5", ["--output-as=xml"]), ("2.0.3", ["--output-as=xml"]), ("2.0.2", ["-X"]),
    ("1.1.23-1.el7_9.1", ["-X"]), ("1.1.13", ["-X"]), (None, ["-X"]),
    ("3.0.0", ["--output-as=xml"]),
])
def test_status_xml_format_follows_pacemaker_version(pacemaker, argv_tail):
    assert get_dialect("crmsh", None, pacemaker).status_xml() == ["crm_mon", "-1"] + argv_tail


BAD_NODES = ["--all", "-h", "server1;reboot", "$(id)", "`id`", "server 1", "server1\n", "",
             "\u0455erver1", "a\x00b", "x" * 10000]


@pytest.mark.parametrize("dialect", [CRMSH, PCS09, PCS010], ids=["crmsh", "pcs09", "pcs010"])
@pytest.mark.parametrize("bad", BAD_NODES)
def test_bad_node_refused_by_every_node_method(dialect, bad):
    for call in (lambda: dialect.node_standby(bad, True),
                 lambda: dialect.node_standby(bad, False),
                 lambda: dialect.node_maintenance(bad, True),
                 lambda: dialect.resource_cleanup("vip", bad),
                 lambda: dialect.resource_refresh(None, bad)):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.details["field"] == "node"


@pytest.mark.parametrize("dialect", [CRMSH, PCS09, PCS010], ids=["crmsh", "pcs09", "pcs010"])
@pytest.mark.parametrize("bad", ["--force", "vip;x", "1vip", "vip\n", "v\u0456p", ""])
def test_bad_resource_refused(dialect, bad):
    for call in (lambda: dialect.resource_cleanup(bad),
                 lambda: dialect.resource_refresh(bad, "server1"),
                 lambda: dialect.resource_manage(bad, False)):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.details["field"] == "resource"


@pytest.mark.parametrize("dialect", [CRMSH, PCS09, PCS010], ids=["crmsh", "pcs09", "pcs010"])
@pytest.mark.parametrize("not_bool", ["true", 1, None, "off"])
def test_on_must_be_a_bool(dialect, not_bool):
    # "off" is truthy: a sloppy bool() would put a node INTO standby.
    for call in (lambda: dialect.node_standby("server1", not_bool),
                 lambda: dialect.node_maintenance("server1", not_bool),
                 lambda: dialect.resource_manage("vip", not_bool),
                 lambda: dialect.cluster_maintenance(not_bool)):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.details["rule"] == "bool"


@pytest.mark.parametrize("rsc,node", [("force", None), ("vip", "force"), (None, "force")])
def test_crmsh_refuses_its_force_keyword(rsc, node):
    with pytest.raises(InvalidInputError) as err:
        CRMSH.resource_cleanup(rsc, node)
    assert err.value.details["rule"] == "crmsh_reserved"


def test_pcs_accepts_a_resource_named_force():
    assert PCS010.resource_cleanup("force") == ["pcs", "resource", "cleanup", "force"]


# choose_frontend: versions are the parsed probe results, None = not installed.

def test_choose_only_installed():
    assert choose_frontend(None, "4.4.0") == ("crmsh", "4.4.0")
    assert choose_frontend("0.9.169", None) == ("pcs", "0.9.169")


def test_choose_both_installed_prefers_pcs_by_default():
    assert choose_frontend("0.11.5", "4.4.0") == ("pcs", "0.11.5")
    assert choose_frontend("0.11.5", "4.4.0", prefer="crmsh") == ("crmsh", "4.4.0")


def test_choose_forced_by_config():
    assert choose_frontend("0.11.5", "4.4.0", forced="crmsh") == ("crmsh", "4.4.0")


def test_choose_forced_but_missing():
    with pytest.raises(UnsupportedError) as err:
        choose_frontend("0.11.5", None, forced="crmsh")
    assert err.value.details["forced"] == "crmsh"


def test_choose_none_installed():
    with pytest.raises(UnsupportedError):
        choose_frontend(None, None)


def test_choose_bad_forced_value():
    with pytest.raises(InvalidInputError):
        choose_frontend("0.11.5", "4.4.0", forced="crm")
