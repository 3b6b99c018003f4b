"""Safety predicates on real crm_mon output (tests/fixtures/crm_mon, recorded by record.sh)."""

from pathlib import Path

import pytest
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.safety.preflight import errors_of, preflight
from pacemaker_update.safety.roles import detect_roles
from pacemaker_update.safety.settle import fingerprint, unsettled_reasons
from pacemaker_update.safety.snapshot import compare, snapshot
from pacemaker_update.state import parse_crm_mon_xml

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
VERSIONS = {"server1": "2.1.5", "server2": "2.1.5"}


def state(name, legacy=False):
    return parse_crm_mon_xml((FIX / (name + (".legacy.xml" if legacy else ".xml"))).read_bytes())


def codes(problems, severity="error"):
    return sorted({p["code"] for p in problems if p["severity"] == severity})


@pytest.mark.parametrize("legacy", [False, True])
def test_healthy_two_node_cluster_passes(legacy):
    problems = preflight(state("two_node_normal", legacy), node_versions=VERSIONS)
    assert errors_of(problems) == []


def test_unknown_versions_are_a_warning_not_silence():
    problems = preflight(state("two_node_normal"))
    assert codes(problems) == [] and codes(problems, "warning") == ["VERSION_UNKNOWN"]


def test_version_skew_refused_unless_allowed():
    versions = {"server1": "2.1.5", "server2": "2.1.6"}
    problems = preflight(state("two_node_normal"), node_versions=versions)
    assert codes(problems) == ["VERSION_SKEW"]
    assert "server2=2.1.6" in problems[-1]["message"]
    allowed = preflight(state("two_node_normal"), node_versions=versions,
                        allow_version_skew=True)
    assert codes(allowed) == [] and "VERSION_SKEW" in codes(allowed, "warning")


def test_failed_action_refused_with_reason_and_acceptable():
    problems = preflight(state("two_node_failed_monitor"), node_versions=VERSIONS)
    assert codes(problems) == ["FAILED_ACTION", "RESOURCE_FAILED"]
    failed = [p for p in problems if p["code"] == "FAILED_ACTION"][0]
    assert failed["node"] == "server1" and "app_monitor_10000" in failed["message"]
    assert "not running" in failed["message"]
    accepted = preflight(state("two_node_failed_monitor"), node_versions=VERSIONS,
                         accept_failed_actions=True)
    assert codes(accepted) == ["RESOURCE_FAILED"]


def test_offline_node_refused_and_missing_expected_node():
    problems = preflight(state("two_node_stopped_node"), node_versions=VERSIONS)
    assert "NODE_OFFLINE" in codes(problems)
    assert [p["node"] for p in problems if p["code"] == "NODE_OFFLINE"] == ["server1"]
    missing = preflight(state("two_node_normal"), expected_nodes=["server1", "server2",
                                                                  "server9"])
    assert [p["node"] for p in missing if p["code"] == "NODE_MISSING"] == ["server9"]


def test_crashed_node_unclean_and_quorum_loss():
    assert {"NODE_OFFLINE", "NODE_UNCLEAN"} <= set(codes(preflight(state("two_node_crashed"))))
    lost = preflight(state("three_node_quorum_lost"))
    assert "NO_QUORUM" in codes(lost)


@pytest.mark.parametrize("fixture,code", [("two_node_standby", "NODE_STANDBY"),
                                          ("two_node_node_maintenance", "NODE_MAINTENANCE")])
def test_standby_or_maintenance_refused_unless_accepted(fixture, code):
    assert code in codes(preflight(state(fixture), node_versions=VERSIONS))
    accepted = preflight(state(fixture), node_versions=VERSIONS, accept_standby=True)
    assert code not in codes(accepted) and code in codes(accepted, "warning")


def test_cluster_maintenance_is_the_intent_of_that_method_only():
    cm = state("two_node_cluster_maintenance")
    assert {"CLUSTER_MAINTENANCE", "RESOURCE_UNMANAGED"} <= set(
        codes(preflight(cm, node_versions=VERSIONS)))
    assert codes(preflight(cm, "cluster_maintenance", node_versions=VERSIONS)) == []


def test_unmanaged_group_refused_for_rolling_update():
    problems = preflight(state("two_node_unmanaged_group"), node_versions=VERSIONS)
    assert codes(problems) == ["RESOURCE_UNMANAGED"]
    assert sorted(p["resource"] for p in problems if p["severity"] == "error") == ["app", "vip"]


def test_unknown_method_is_a_programming_error():
    with pytest.raises(ValueError):
        preflight(state("two_node_normal"), method="yolo")


@pytest.mark.parametrize("legacy", [False, True])
def test_roles_two_nodes_primary_last(legacy):
    roles = detect_roles(state("two_node_normal", legacy))
    assert roles["primary"] == "server1" and roles["order"] == ["server2", "server1"]
    assert roles["roles"] == {"server1": "primary", "server2": "secondary"}
    assert {r["resource"] for r in roles["resources"]["server1"]} == {"vip", "app", "ping"}


def test_roles_follow_the_service_after_standby():
    roles = detect_roles(state("two_node_standby"))
    assert roles["primary"] == "server2" and roles["order"] == ["server1", "server2"]
    assert roles["roles"]["server1"] == "idle"


def test_roles_three_nodes_promoted_counts_and_order_is_deterministic():
    roles = detect_roles(state("three_node_normal"))
    assert roles["primary"] == "server1"
    assert roles["order"] == ["server2", "server3", "server1"]
    moved = detect_roles(state("three_node_promote_moved"))
    promoted_on = [n for n, items in moved["resources"].items()
                   if any(i["role_kind"] == "promoted" for i in items)]
    assert promoted_on != ["server1"] and moved["order"][-1] == moved["primary"]


def test_snapshot_compare_sees_the_move_and_ignores_it_on_request():
    before = snapshot(state("two_node_normal"))
    assert before["resources"]["vip"] == {"server1": "started"}
    assert compare(before, state("two_node_normal")) == []
    diffs = compare(before, state("two_node_standby"))
    moved = {d["resource"]: d for d in diffs}
    assert moved["vip"]["kind"] == "moved" and moved["vip"]["after"] == {"server2": "started"}
    assert "ping" in moved  # the clone instance on the standby node stopped
    assert "vip" not in {d["resource"] for d in compare(before, state("two_node_standby"),
                                                        ignore_placement=True)}


def test_compare_sees_promotion_moves_on_three_nodes():
    diffs = compare(snapshot(state("three_node_normal")), state("three_node_promote_moved"))
    assert [d["resource"] for d in diffs] == ["db"]
    assert diffs[0]["before"]["server1"] == "promoted"


@pytest.mark.parametrize("bad", [None, [], {"resources": []}, {"resources": {"a": "x"}}])
def test_compare_rejects_a_bad_snapshot(bad):
    with pytest.raises(InvalidInputError):
        compare(bad, state("two_node_normal"))


def test_settled_predicate():
    assert unsettled_reasons(state("two_node_normal"), ["server1", "server2"]) == []
    assert unsettled_reasons(state("two_node_standby"), ["server1", "server2"]) == []
    reasons = unsettled_reasons(state("two_node_stopped_node"), ["server1", "server2"])
    assert reasons == ["node server1 is not online yet"]
    assert any("shutting down" in r for r in unsettled_reasons(state("two_node_shutdown_pending")))
    assert fingerprint(state("two_node_normal")) != fingerprint(state("two_node_standby"))
    assert fingerprint(state("two_node_normal")) == fingerprint(state("two_node_normal"))
