"""diff_states + classify on pairs of REAL crm_mon 2.1.5 output (tests/fixtures/crm_mon)."""

from pathlib import Path

import pytest
from pacemaker_update.detect import Classifier, classify, diff_states, new_entry
from pacemaker_update.state import parse_crm_mon_xml

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"


def state(name, legacy=False):
    return parse_crm_mon_xml((FIX / f"{name}{'.legacy' if legacy else ''}.xml").read_bytes())


def diff(a, b, legacy=False):
    return diff_states(state(a, legacy), state(b, legacy), "lab", "2026-01-01T00:00:00+00:00")


def kinds(events):
    return sorted((e.kind, e.resource, e.from_node, e.to_node) for e in events)


def alarming(events):
    return sorted((e.kind, e.resource) for e in events if e.alarming)


@pytest.mark.parametrize("legacy", [False, True])
def test_standby_move_is_seen_as_moves_and_a_standby(legacy):
    events = diff("two_node_normal", "two_node_standby", legacy)
    assert kinds(events) == [
        ("node_standby", None, "server1", None),
        ("resource_moved", "app", "server1", "server2"),
        ("resource_moved", "vip", "server1", "server2"),
        ("resource_stopped", "ping", "server1", None),
    ]
    moved = [e for e in events if e.resource == "vip"][0]
    assert moved.message == "vip moved from server1 to server2"
    assert moved.cluster == "lab" and moved.state_time


def test_standby_move_is_unexpected_without_a_ledger_entry():
    events = classify(diff("two_node_normal", "two_node_standby"), [], now=10)
    assert alarming(events) == [("node_standby", None), ("resource_moved", "app"),
                                ("resource_moved", "vip"), ("resource_stopped", "ping")]


def test_standby_move_is_expected_with_the_entry_for_that_node():
    entry = new_entry("lab", "run1", "standby_server1", "standby", "server1", now=0)
    events = classify(diff("two_node_normal", "two_node_standby"), [entry], now=10)
    assert alarming(events) == []
    assert {e.ledger_entry for e in events} == {"run1.standby_server1"}


def test_entry_for_another_node_or_cluster_or_closed_does_not_cover():
    other_node = new_entry("lab", "run1", "s", "standby", "server2", now=0)
    other_cluster = new_entry("prod", "run1", "s", "standby", "server1", now=0)
    expired = new_entry("lab", "run1", "s", "standby", "server1", ttl=5, now=0)
    events = diff("two_node_normal", "two_node_standby")
    for entry in (other_node, other_cluster, expired):
        assert len(alarming(classify(events, [entry], now=10))) == 4


def test_destinations_limit_where_resources_may_go():
    entry = new_entry("lab", "r", "s", "standby", "server1", destinations=["server3"], now=0)
    events = classify(diff("two_node_normal", "two_node_standby"), [entry], now=1)
    assert alarming(events) == [("resource_moved", "app"), ("resource_moved", "vip")]


def test_promotable_clone_standby_covers_demote_there_and_promote_elsewhere():
    events = diff("three_node_normal", "three_node_standby")
    assert ("role_changed", "db", None, "server2") in kinds(events)
    entry = new_entry("lab", "r", "s", "standby", "server1", now=0)
    assert alarming(classify(events, [entry], now=1)) == []


def test_promote_demote_without_entry_is_unexpected():
    events = classify(diff("three_node_normal", "three_node_promote_moved"), [], now=1)
    assert [(e.kind, e.node, e.role_before, e.role_after) for e in events] == [
        ("role_changed", "server1", "promoted", "unpromoted"),
        ("role_changed", "server2", "unpromoted", "promoted")]
    assert all(e.alarming for e in events)


def test_crash_is_unexpected_even_during_that_nodes_standby_step():
    entry = new_entry("lab", "r", "s", "standby", "server1", now=0)
    watcher = Classifier()
    first = watcher.classify(diff("two_node_fencing_normal", "two_node_crashed"), [entry], 1)
    assert alarming(first) == [("node_unclean", None)]
    assert first[0].severity == "critical"
    # the moves the crash causes, seen by the next poll, stay unexpected
    second = watcher.classify(diff("two_node_crashed", "two_node_crashed_recovered"), [entry], 2)
    assert alarming(second) == [("resource_moved", "app"), ("resource_moved", "vip"),
                                ("resource_stopped", "ping")]


def test_failed_monitor_is_a_critical_failed_action_never_covered():
    entry = new_entry("lab", "r", "s", "standby", "server1", now=0)
    events = classify(diff("two_node_normal", "two_node_failed_monitor"), [entry], now=1)
    assert [(e.kind, e.resource, e.node, e.severity, e.expected) for e in events] == [
        ("failed_action", "app", "server1", "critical", False)]
    assert "rc=7" in events[0].message
    # recovery (app restarted, failure record kept) is not a new event
    assert diff("two_node_failed_monitor", "two_node_failed_monitor_recovered") == []


def test_quorum_loss_is_critical_and_first():
    events = classify(diff("three_node_normal", "three_node_quorum_lost"), [], now=1)
    assert events[0].kind == "quorum_lost" and events[0].severity == "critical"
    assert ("node_offline", None, "server2", None) in kinds(events)
    assert all(e.alarming for e in events)


def test_clean_pacemaker_stop_is_expected_only_with_a_stop_entry():
    events = diff("two_node_shutdown_pending", "two_node_stopped_node")
    assert kinds(events) == [("node_offline", None, "server1", None)]
    standby = new_entry("lab", "r", "s", "standby", "server1", now=0)
    stop = new_entry("lab", "r", "s2", "stop_pacemaker", "server1", now=0)
    assert alarming(classify(events, [standby], now=1)) == [("node_offline", None)]
    assert alarming(classify(events, [stop], now=1)) == []


def test_no_change_no_event_and_identical_states():
    assert diff("two_node_normal", "two_node_normal") == []
    assert diff("two_node_standby", "two_node_standby", legacy=True) == []


def test_node_maintenance_and_cluster_maintenance():
    assert kinds(diff("two_node_normal", "two_node_node_maintenance")) == [
        ("node_maintenance", None, "server2", None)]
    events = diff("two_node_normal", "two_node_cluster_maintenance")
    assert [e.kind for e in events] == ["cluster_maintenance"]
    entry = new_entry("lab", "r", "m", "cluster_maintenance", None, now=0)
    assert alarming(classify(events, [entry], now=1)) == []


# Alert bodies exactly as the lab's alert agent POSTed them (Pacemaker 2.1.5) during a
# hand move of web-group from server1 to server2 (recorded with bench/bench_detect.py's
# setup: install_alert_agent + AlertListener on the lab bridge).
_MOVE_ALERTS = [
    ("web", "server1", "monitor", "Cancelled", "0", "0", "1"),
    ("web", "server1", "stop", "ok", "0", "0", "0"),
    ("vip", "server1", "monitor", "Cancelled", "0", "0", "1"),
    ("vip", "server1", "stop", "ok", "0", "0", "0"),
    ("vip", "server2", "start", "ok", "0", "0", "0"),
    ("vip", "server2", "monitor", "ok", "0", "0", "0"),
    ("web", "server2", "start", "ok", "0", "0", "0"),
    ("web", "server2", "monitor", "ok", "0", "0", "0"),
]


def test_alerts_of_a_move_are_two_stops_and_no_failure():
    from pacemaker_update.detect.alerts import alert_to_events, parse_alert
    events = []
    for rsc, node, task, desc, rc, target, status in _MOVE_ALERTS:
        body = {"cluster": "lab", "kind": "resource", "node": node, "rsc": rsc, "task": task,
                "desc": desc, "rc": rc, "target_rc": target, "status": status,
                "version": "2.1.5"}
        events += alert_to_events(parse_alert(body), "lab", "2025-01-01T00:00:00Z")
    # the cancelled recurring monitors before each stop are NOT failed actions
    assert [(e.kind, e.resource, e.from_node) for e in events] == [
        ("resource_stopped", "web", "server1"), ("resource_stopped", "vip", "server1")]


def test_a_timed_out_or_failed_monitor_alert_is_a_failed_action():
    from pacemaker_update.detect.alerts import alert_to_events, parse_alert
    for rc, status in (("7", "0"), ("1", "2")):
        body = {"cluster": "lab", "kind": "resource", "node": "server1", "rsc": "web",
                "task": "monitor", "desc": "not running", "rc": rc, "target_rc": "0",
                "status": status}
        (event,) = alert_to_events(parse_alert(body), "lab", "2025-01-01T00:00:00Z")
        assert event.kind == "failed_action" and event.from_node == "server1"


def _maintenance_with_ping_stopped_on_server1():
    """Real cluster-maintenance output, with ping's server1 instance shown stopped the way
    crm_mon shows it for a moment while the maintenance-exit guard re-probes (seen live)."""
    text = (FIX / "two_node_cluster_maintenance.xml").read_text()
    instance = ('<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Started" '
                'active="true" orphaned="false" blocked="false" managed="false" failed="false" '
                'failure_ignored="false" nodes_running_on="1">\n'
                '        <node name="server1" id="1" cached="true"/>\n      </resource>')
    stopped = ('<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Stopped" '
               'active="false" orphaned="false" blocked="false" managed="false" '
               'failed="false" failure_ignored="false" nodes_running_on="0"/>')
    assert instance in text
    return parse_crm_mon_xml(text.replace(instance, stopped))


def test_unmanaged_resource_changes_are_information_not_failovers():
    before = state("two_node_cluster_maintenance")
    after = _maintenance_with_ping_stopped_on_server1()
    events = diff_states(before, after, "lab", "2026-01-01T00:00:00+00:00")
    assert ("resource_stopped", "ping", "server1", None) in kinds(events)
    assert alarming(events) == []
    assert all("unmanaged" in e.message for e in events if e.resource == "ping")


def test_the_same_stop_of_a_managed_resource_is_an_alarm():
    before = state("two_node_normal")  # no maintenance: ping managed everywhere
    text = (FIX / "two_node_normal.xml").read_text()
    instance = ('<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Started" '
                'active="true" orphaned="false" blocked="false" managed="true" failed="false" '
                'failure_ignored="false" nodes_running_on="1">\n'
                '        <node name="server1" id="1" cached="true"/>\n      </resource>')
    assert instance in text
    after = parse_crm_mon_xml(text.replace(instance, (
        '<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Stopped" '
        'active="false" orphaned="false" blocked="false" managed="true" failed="false" '
        'failure_ignored="false" nodes_running_on="0"/>')))
    events = diff_states(before, after, "lab", "2026-01-01T00:00:00+00:00")
    assert ("resource_stopped", "ping") in alarming(events)


def _node_maintenance_with_ping_stopped(node):
    """Real node-maintenance output (server2 in maintenance), with ping's instance on
    ``node`` shown stopped, as during the exit guard's re-probe."""
    text = (FIX / "two_node_node_maintenance.xml").read_text()
    managed = "true" if node == "server1" else "false"
    number = "1" if node == "server1" else "2"
    instance = ('<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Started" '
                f'active="true" orphaned="false" blocked="false" managed="{managed}" '
                'failed="false" failure_ignored="false" nodes_running_on="1">\n'
                f'        <node name="{node}" id="{number}" cached="true"/>\n      </resource>')
    stopped = ('<resource id="ping" resource_agent="ocf:pacemaker:ping" role="Stopped" '
               f'active="false" orphaned="false" blocked="false" managed="{managed}" '
               'failed="false" failure_ignored="false" nodes_running_on="0"/>')
    assert instance in text
    return parse_crm_mon_xml(text.replace(instance, stopped))


def test_clone_instance_on_the_node_in_maintenance_is_information_elsewhere_an_alarm():
    before = state("two_node_node_maintenance")
    on_maintained = diff_states(before, _node_maintenance_with_ping_stopped("server2"),
                                "lab", "2026-01-01T00:00:00+00:00")
    assert ("resource_stopped", "ping", "server2", None) in kinds(on_maintained)
    assert alarming(on_maintained) == []
    on_managed = diff_states(before, _node_maintenance_with_ping_stopped("server1"),
                             "lab", "2026-01-01T00:00:00+00:00")
    assert ("resource_stopped", "ping") in alarming(on_managed)


def test_one_poll_seeing_maintenance_entered_and_the_reprobe_stop_is_information():
    """Seen on the lab: a 2 s poll saw node maintenance turned on and the exit guard's
    re-probe stop of the clone instance on that node in one diff."""
    before = state("two_node_normal")
    after = _node_maintenance_with_ping_stopped("server2")
    events = diff_states(before, after, "lab", "2026-01-01T00:00:00+00:00")
    assert ("resource_stopped", "ping", "server2", None) in kinds(events)
    assert ("resource_stopped", "ping") not in alarming(events)
