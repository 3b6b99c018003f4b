"""The state model itself: unknown stays unknown, snapshots are immutable, and the
small helpers later layers rely on (op_key split, agents, roles, fence history)."""

import dataclasses

import pytest
from pacemaker_update.state import (
    normalise_agent,
    normalise_role,
    parse_crm_mon_xml,
    split_op_key,
)

# Shape of crm_mon 2.x with a fence_history block (xml/api/fence-event-2.15.rng);
# crm_mon on a CIB file cannot ask the fencer, so no recorded fixture has one.
WITH_FENCING = b"""<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
  <summary><current_dc present="false"/></summary>
  <nodes><node name="a" id="1" online="true"/><node name="b" id="2"/></nodes>
  <fence_history>
    <fence_event action="reboot" target="b" client="pacemaker-controld.1" origin="a"
      status="success" delegate="a" completed="2024-05-01 10:00:01 +02:00"/>
    <fence_event action="off" target="b" client="stonith_admin.9" origin="a"
      status="failed" exit-reason="No route" extended-status="error"/>
  </fence_history>
  <status code="0" message="OK"/>
</pacemaker-result>"""


def test_missing_attributes_are_unknown_not_false():
    state = parse_crm_mon_xml(WITH_FENCING)
    b = state.node("b")
    assert (b.online, b.standby, b.maintenance, b.unclean, b.is_dc) == (None,) * 5
    assert state.online_nodes() == ("a",)
    assert state.summary.have_quorum is None and state.summary.maintenance_mode is None
    assert state.summary.dc_present is False and state.summary.dc_name is None
    assert state.resources == () and state.failures == ()


def test_fence_history():
    done, failed = parse_crm_mon_xml(WITH_FENCING).fence_history
    assert (done.target, done.action, done.status, done.delegate) == ("b", "reboot", "success", "a")
    assert (failed.status, failed.exit_reason, failed.completed) == ("failed", "No route", None)


def test_state_is_immutable():
    state = parse_crm_mon_xml(WITH_FENCING)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.nodes = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.nodes[0].online = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        state.node_attributes["x"] = {}  # type: ignore[index]


@pytest.mark.parametrize(
    "op_key,task,interval,expected",
    [
        ("app_monitor_10000", "monitor", 10000, ("app", "monitor", 10000)),
        ("my_db_monitor_0", None, None, ("my_db", "monitor", 0)),
        ("web_app_start_0", "start", 0, ("web_app", "start", 0)),
        ("vm_1_migrate_to_0", None, None, ("vm_1", "migrate_to", 0)),
        ("odd", None, None, ("odd", "", None)),
    ],
)
def test_split_op_key(op_key, task, interval, expected):
    assert split_op_key(op_key, task, interval) == expected


def test_agent_and_role_normalisation():
    assert normalise_agent("ocf::heartbeat:IPaddr2") == "ocf:heartbeat:IPaddr2"
    assert normalise_agent("stonith:fence_xvm") == "stonith:fence_xvm"
    assert [normalise_role(r) for r in ("Master", "Promoted", "Slave", "Unpromoted")] == [
        "promoted",
        "promoted",
        "unpromoted",
        "unpromoted",
    ]
    assert normalise_role("Weird") == "unknown" and normalise_role(None) is None


def test_bundle_replicas_are_flattened():
    data = b"""<crm_mon version="2.1.5"><summary/><nodes/><resources>
  <bundle id="web" type="podman" image="httpd" unique="false" managed="true" failed="false">
    <replica id="0">
      <resource id="web-ip-192.168.1.10" resource_agent="ocf:heartbeat:IPaddr2" role="Started"
        active="true" managed="true" failed="false" nodes_running_on="1">
        <node name="a" id="1" cached="true"/></resource>
      <resource id="web-podman-0" resource_agent="ocf:heartbeat:podman" role="Started"
        active="true" managed="true" failed="false" nodes_running_on="1">
        <node name="a" id="1" cached="true"/></resource>
    </replica>
  </bundle></resources></crm_mon>"""
    state = parse_crm_mon_xml(data)
    assert [r.bundle for r in state.resources] == ["web", "web"]
    assert state.active_nodes_of("web") == ("a",)
    assert state.resources[0].blocked is None  # not printed -> unknown


def test_str_input_is_accepted():
    text = WITH_FENCING.decode()
    assert parse_crm_mon_xml(text).node("a").online is True
