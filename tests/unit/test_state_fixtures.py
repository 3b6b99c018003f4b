"""crm_mon output recorded from real Pacemaker 2.1.5 (tests/fixtures/crm_mon/record.sh)
parsed into the facts an operator reads off `crm_mon`: who is online / standby /
maintenance, where each resource runs, roles, unmanaged flags, failures."""

from pathlib import Path

import pytest
from pacemaker_update.errors import UnsupportedError
from pacemaker_update.state import ClusterState, parse_crm_mon_text, parse_crm_mon_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
SCENARIOS = sorted(
    p.name[: -len(".xml")]
    for p in FIXTURES.glob("*.xml")
    if not p.name.endswith((".legacy.xml", ".cib.xml")) and not p.name.startswith("legacy_")
)


def load(name: str, fmt: str = "xml2") -> ClusterState:
    suffix = ".xml" if fmt == "xml2" else ".legacy.xml"
    return parse_crm_mon_xml((FIXTURES / (name + suffix)).read_bytes())


def both(name: str):
    return [load(name, "xml2"), load(name, "legacy")]


def test_every_scenario_was_recorded_in_both_formats():
    assert len(SCENARIOS) >= 14
    for name in SCENARIOS:
        assert (FIXTURES / (name + ".legacy.xml")).exists(), name


@pytest.mark.parametrize("name", SCENARIOS)
def test_both_formats_agree(name):
    new, old = both(name)
    assert new.source_format == "xml2" and old.source_format == "legacy"
    assert new.raw_version == "2.25" and old.raw_version == "2.1.5"
    assert new.summary == old.summary
    assert new.nodes == old.nodes
    assert new.resources == old.resources
    assert new.failures == old.failures
    assert dict(new.node_attributes) == dict(old.node_attributes)


@pytest.mark.parametrize("name", SCENARIOS)
def test_summary_is_known_everywhere(name):
    state = load(name)
    assert state.summary.stack == "corosync"
    assert state.summary.pacemaker_version == "2.1.5-a3f44794f94"
    assert state.summary.nodes_configured == len(state.nodes)
    for node in state.nodes:  # 2.1.5 prints every flag: nothing may come out unknown
        assert None not in (node.online, node.standby, node.maintenance, node.unclean)


@pytest.mark.parametrize("state", both("two_node_normal"))
def test_normal_two_nodes(state):
    assert state.online_nodes() == ("server1", "server2")
    assert state.summary.dc_name == "server1" and state.node("server1").is_dc is True
    assert state.summary.have_quorum is True and state.summary.maintenance_mode is False
    assert state.active_nodes_of("grp") == ("server1",)
    assert state.active_nodes_of("ping-clone") == ("server1", "server2")
    vip = state.resource_instances("vip")[0]
    assert (vip.agent, vip.group, vip.clone, vip.role_kind) == (
        "ocf:heartbeat:IPaddr2",
        "grp",
        None,
        "started",
    )
    assert [r.id for r in state.resources_on("server2")] == ["ping"]
    assert state.node_attributes["server1"]["pingd"] == "100"
    assert state.failures == () and state.unmanaged_resources() == ()


@pytest.mark.parametrize("state", both("two_node_standby"))
def test_standby_moves_group_away(state):
    assert state.standby_nodes() == ("server1",)
    assert state.node("server1").online is True
    assert state.active_nodes_of("grp") == ("server2",)
    assert state.resources_on("server1") == ()


@pytest.mark.parametrize("state", both("two_node_node_maintenance"))
def test_node_maintenance_unmanages_only_that_node(state):
    assert state.maintenance_nodes() == ("server2",)
    unmanaged = state.unmanaged_resources()
    assert [(r.id, r.nodes) for r in unmanaged] == [("ping", ("server2",))]
    assert state.summary.maintenance_mode is False


@pytest.mark.parametrize("state", both("two_node_cluster_maintenance"))
def test_cluster_maintenance_unmanages_everything(state):
    assert state.summary.maintenance_mode is True
    assert state.maintenance_nodes() == ()
    assert all(r.managed is False for r in state.resources)
    assert state.active_nodes_of("grp") == ("server1",)


@pytest.mark.parametrize("state", both("two_node_unmanaged_group"))
def test_unmanaged_group(state):
    assert sorted(r.id for r in state.unmanaged_resources()) == ["app", "vip"]
    assert all(r.managed for r in state.resource_instances("ping-clone"))


@pytest.mark.parametrize("state", both("two_node_shutdown_pending"))
def test_clean_stop_in_progress(state):
    node = state.node("server1")
    assert (node.online, node.shutdown, node.expected_up) == (True, True, False)
    assert state.resources_on("server1") == ()


@pytest.mark.parametrize("state", both("two_node_stopped_node"))
def test_pacemaker_stopped_on_a_node(state):
    node = state.node("server1")
    assert (node.online, node.unclean) == (False, False)
    assert state.online_nodes() == ("server2",)
    assert state.active_nodes_of("grp") == ("server2",)


@pytest.mark.parametrize("state", both("two_node_crashed"))
def test_crashed_node_is_unclean_and_still_holds_resources(state):
    node = state.node("server1")
    assert (node.online, node.unclean, node.expected_up) == (False, True, True)
    assert state.summary.dc_name == "server2" and state.summary.stonith_enabled is True
    assert state.active_nodes_of("grp") == ("server1",)


@pytest.mark.parametrize("state", both("two_node_crashed_recovered"))
def test_crash_recovered_after_fencing(state):
    assert state.node("server1").unclean is False
    assert state.active_nodes_of("grp") == ("server2",)


@pytest.mark.parametrize("state", both("two_node_failed_monitor"))
def test_failed_monitor(state):
    (failure,) = state.failures
    assert (failure.resource, failure.node, failure.task, failure.interval_ms) == (
        "app",
        "server1",
        "monitor",
        10000,
    )
    assert (failure.rc, failure.exitstatus, failure.status) == (7, "not running", "complete")
    assert failure.exitreason == "Simulated action result"
    assert [r.id for r in state.failed_resources()] == ["app"]
    assert state.fail_counts["server1"]["app"] == 1


@pytest.mark.parametrize("state", both("two_node_failed_monitor_recovered"))
def test_failed_monitor_recovered_keeps_the_failure_record(state):
    assert state.failed_resources() == ()
    assert [f.resource for f in state.failures] == ["app"]
    assert state.active_nodes_of("app") == ("server1",)


@pytest.mark.parametrize("state", both("three_node_normal"))
def test_promotable_clone_roles(state):
    assert state.promoted_nodes_of("db-clone") == ("server1",)
    assert state.nodes_in_role("db", "unpromoted") == ("server2", "server3")
    db = state.resource_instances("db")
    assert {r.role for r in db} == {"Promoted", "Unpromoted"}
    assert all(r.is_promotable_clone for r in db)
    assert not any(r.is_promotable_clone for r in state.resource_instances("ping-clone"))


def test_promote_demote_pair():
    before, after = load("three_node_normal"), load("three_node_promote_moved")
    assert before.promoted_nodes_of("db") == ("server1",)
    assert after.promoted_nodes_of("db") == ("server2",)
    assert before.placement()["vip"] == after.placement()["vip"] == ("server1",)


def test_three_node_standby_moves_group_and_promotion():
    state = load("three_node_standby")
    assert state.active_nodes_of("grp") == ("server2",)
    assert state.promoted_nodes_of("db") == ("server2",)
    assert state.nodes_in_role("db", "stopped") == ()  # stopped instances have no node


@pytest.mark.parametrize("state", both("three_node_quorum_lost"))
def test_quorum_lost(state):
    assert state.summary.have_quorum is False
    assert state.online_nodes() == ("server1",)
    assert all(not nodes for nodes in state.placement().values())


def test_legacy_1_1_sample():
    state = parse_crm_mon_xml((FIXTURES / "legacy_1.1_two_node_maintenance.xml").read_bytes())
    assert state.source_format == "legacy" and state.raw_version == "1.1.23"
    assert state.maintenance_nodes() == ("server2",)
    assert state.promoted_nodes_of("db-master") == ("server1",)
    assert state.nodes_in_role("db", "unpromoted") == ("server2",)
    assert {r.role for r in state.resource_instances("db")} == {"Master", "Slave"}
    assert state.resource_instances("vip")[0].agent == "ocf:heartbeat:IPaddr2"
    assert state.summary.stop_all_resources is None  # not in 1.1: unknown, not False
    assert [(f.resource, f.rc) for f in state.failures] == [("app", 7)]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.txt")), ids=lambda p: p.name)
def test_text_output_is_refused_with_a_code(path):
    with pytest.raises(UnsupportedError) as err:
        parse_crm_mon_text(path.read_text())
    assert err.value.code == "CRM_MON_TEXT_UNSUPPORTED"
    assert "--output-as=xml" in err.value.hint


def test_text_entry_point_accepts_xml():
    state = parse_crm_mon_text((FIXTURES / "two_node_standby.xml").read_text())
    assert state.standby_nodes() == ("server1",)
