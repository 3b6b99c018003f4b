"""validate.py: good names pass unchanged, hostile ones are refused with a coded error."""

import pytest
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.validate import (
    validate_hostname_or_address,
    validate_node_name,
    validate_package_name,
    validate_package_version,
    validate_resource_id,
    validate_timeout,
    validate_unit_name,
)

# Strings an attacker or a typo could hand us; every string validator must refuse all.
HOSTILE = [
    "a;reboot", "$(reboot)", "`reboot`", "a b", "a\nb", "a\n", "-x", "--all", "--force",
    "a\x00b", "a|b", "a&b", "a>b", "a'b", 'a"b', "a\\b", "*", "a*", "a?", "[ab]", "~root",
    "a\tb", "\u0430dmin",  # Cyrillic a: lookalike
    "node\u2010one",  # Unicode hyphen
    "ｎｏｄｅ",  # fullwidth letters
    "x" * 10000, "", " ", "a{b,c}", "a#b", "a!b", "a=b",
]


def _string_validators():
    return [
        ("node", validate_node_name),
        ("resource", validate_resource_id),
        ("unit", validate_unit_name),
        ("host", validate_hostname_or_address),
        ("package", lambda s: validate_package_name(s, "yum")),
        ("package", lambda s: validate_package_name(s, "apt")),
        ("version", lambda s: validate_package_version(s, "dnf")),
        ("version", lambda s: validate_package_version(s, "apt")),
    ]


@pytest.mark.parametrize("field,validator", _string_validators())
@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_strings_refused_by_every_validator(field, validator, bad):
    with pytest.raises(InvalidInputError) as err:
        validator(bad)
    assert err.value.code == "INVALID_INPUT"
    details = err.value.details
    assert details["field"] == field
    assert set(details) == {"field", "value", "rule"}
    assert len(details["value"]) < 120  # 10k chars never echoed back whole


@pytest.mark.parametrize("bad", [None, 5, b"node1", ["node1"]])
def test_non_strings_refused(bad):
    with pytest.raises(InvalidInputError) as err:
        validate_node_name(bad)
    assert err.value.details["rule"] == "type"


def test_message_names_field_value_and_rule():
    with pytest.raises(InvalidInputError) as err:
        validate_node_name("--all")
    assert "node '--all'" in err.value.message
    assert err.value.details == {"field": "node", "value": "'--all'",
                                 "rule": "no_leading_dash"}


def test_long_value_truncated_in_details():
    with pytest.raises(InvalidInputError) as err:
        validate_node_name("x" * 10000)
    assert err.value.details["value"].endswith("...(10000 chars)")


@pytest.mark.parametrize("name", ["server1", "node-2", "db_primary", "n1.example.com",
                                  "_x", "a" * 253, "1node"])
def test_node_names_accepted(name):
    assert validate_node_name(name) == name


@pytest.mark.parametrize("name", [".hidden", "a" * 254, "node:1", "node/1"])
def test_node_names_refused(name):
    with pytest.raises(InvalidInputError):
        validate_node_name(name)


@pytest.mark.parametrize("rid", ["vip", "pgsql-clone", "_grp", "res.1", "a" * 255])
def test_resource_ids_accepted(rid):
    assert validate_resource_id(rid) == rid


@pytest.mark.parametrize("rid", ["1vip", ".vip", "a:b", "a" * 256, "vip/1"])
def test_resource_ids_refused(rid):
    with pytest.raises(InvalidInputError) as err:
        validate_resource_id(rid)
    assert err.value.details["field"] == "resource"


@pytest.mark.parametrize("manager", ["yum", "dnf", "zypper", "rpm"])
@pytest.mark.parametrize("name", ["pacemaker", "pacemaker-cli", "libstdc++", "python3.11",
                                  "resource-agents", "Judy", "perl-Net_SSLeay",
                                  "pacemaker.x86_64"])
def test_rpm_package_names_accepted(manager, name):
    assert validate_package_name(name, manager) == name


@pytest.mark.parametrize("name", ["pacemaker", "pacemaker-cli-utils", "libstdc++6", "g++",
                                  "libc6:amd64", "python3.11"])
def test_deb_package_names_accepted(name):
    assert validate_package_name(name, "apt") == name


@pytest.mark.parametrize("name", ["Pacemaker", "x", "pacemaker=2.1.5-1", "pacemaker_x",
                                  "libc6:amd64:x", "pkg:AMD64"])
def test_deb_package_names_refused(name):
    with pytest.raises(InvalidInputError) as err:
        validate_package_name(name, "apt")
    assert err.value.details["rule"] == "deb_package_name"


@pytest.mark.parametrize("name", ["pacemaker>=2", "pacemaker=1.1", "pkg@1", "pkg/x"])
def test_rpm_package_specs_refused(name):
    with pytest.raises(InvalidInputError):
        validate_package_name(name, "zypper")


def test_unknown_package_manager_refused():
    with pytest.raises(InvalidInputError) as err:
        validate_package_name("pacemaker", "pacman")
    assert err.value.details["field"] == "manager"


@pytest.mark.parametrize("manager,version", [
    ("yum", "1.1.23-1.el7_9.1"), ("dnf", "1:2.1.5-5.el9"), ("zypper", "2.1.2+20211124.ada5c3b36"),
    ("apt", "2.1.5-1+deb12u1"), ("apt", "1:2.0~rc1-3"),
])
def test_versions_accepted(manager, version):
    assert validate_package_version(version, manager) == version


@pytest.mark.parametrize("version", ["latest", "2.1 ", "2.1;x", "-1"])
def test_deb_versions_refused(version):
    with pytest.raises(InvalidInputError):
        validate_package_version(version, "apt")


@pytest.mark.parametrize("unit", ["pacemaker", "corosync.service", "getty@tty1.service",
                                  "pcsd", "sys-kernel.mount"])
def test_units_accepted(unit):
    assert validate_unit_name(unit) == unit


@pytest.mark.parametrize("host", ["10.0.0.1", "::1", "fe80::1", "2001:db8::10", "node1",
                                  "node1.example.com", "node1.example.com.", "a-b.c"])
def test_hosts_accepted(host):
    assert validate_hostname_or_address(host) == host


@pytest.mark.parametrize("host", ["10.0.0.256", "1.2.3", "fe80::1%eth0", "under_score",
                                  "-a.b", "a-.b", "a..b", "a" * 64 + ".com", "gg::1",
                                  "host:22"])
def test_hosts_refused(host):
    with pytest.raises(InvalidInputError) as err:
        validate_hostname_or_address(host)
    assert err.value.details["field"] == "host"


@pytest.mark.parametrize("value,expected", [(30, 30.0), (0.5, 0.5), ("120", 120.0),
                                            ("1.5", 1.5), (86400, 86400.0)])
def test_timeouts_accepted(value, expected):
    assert validate_timeout(value) == expected


@pytest.mark.parametrize("value,rule", [
    (0, "positive"), (-1, "positive"), (float("nan"), "positive"), (float("inf"), "positive"),
    (86401, "maximum"), (True, "type"), (None, "type"), ("30s", "type"), ("1e3", "type"),
    ("-5", "type"), (" 5", "type"), ([5], "type"),
])
def test_timeouts_refused(value, rule):
    with pytest.raises(InvalidInputError) as err:
        validate_timeout(value)
    assert err.value.details["rule"] == rule


def test_timeout_maximum_is_a_parameter():
    assert validate_timeout(600, maximum=600) == 600.0
    with pytest.raises(InvalidInputError):
        validate_timeout(601, field="wait", maximum=600)
