"""Method 4 (rolling_standby) wired to the pack's other parts, rehearsed on the real conductor.

What a user expects: every step that moves resources is announced in the expected-moves
ledger before it runs and closed once verified (so the failover watcher does not cry wolf),
a ledger that cannot record stops the update before the step, a maintenance window that
closes stops at a node boundary with every node in service, approvals go to the channel
that asked, and every end of the run comes with the report rendered as Markdown. A node's
packages are updated only once its resources run elsewhere and the cluster settled (for the
primary: once its failover completed); if they never do, the update stops there with the
report saying where each node is.
"""

from typing import Any, Dict, List, Tuple

import pytest
from test_workflows_driver import MUTATING, ST2_CTX, FakeCluster, rehearse

TWO = ["server2", "server1"]
RUN_ID = ST2_CTX["st2"]["action_execution_id"]


def run(order: List[str], **kw: Any) -> Any:
    fake_kw = {
        k: kw.pop(k) for k in ("fail_at", "fail_nth", "answers", "window_refuse_at") if k in kw
    }
    fake = FakeCluster(order, **fake_kw)
    inputs: Dict[str, Any] = {"cluster": "lab", "all_packages": True}
    inputs.update(kw)
    result = rehearse("rolling_standby", inputs, fake)
    result.fake = fake
    return result


def test_two_nodes_full_sequence_with_ledger_window_and_report() -> None:
    r = run(TWO, window_enforced=True, failback="original")
    assert r.status == "succeeded", r.errors
    seq: List[Tuple[str, ...]] = [("preflight_check",), ("snapshot_state",)]
    seq += [
        ("check_maintenance_window",),
        ("record_expected_moves", "standby_server2"),
        ("set_node_standby(on)", "server2"),
        # its resources run elsewhere, settled, inside the standby's ledger entry
        ("wait_until_settled",),
        ("close_expected_moves", "standby_server2"),
        ("update_packages", "server2"),
        ("record_expected_moves", "unstandby_server2"),
        ("set_node_standby(off)", "server2"),
        ("wait_until_settled",),
        ("close_expected_moves", "unstandby_server2"),
        ("preflight_check",),
        ("check_maintenance_window",),
        # the primary: its standby is the failover (seed step 4), no failover pair first
        ("record_expected_moves", "standby_server1"),
        ("set_node_standby(on)", "server1"),
        # the failover completed (settled, resources running on server2) before the update
        ("wait_until_settled",),
        ("close_expected_moves", "standby_server1"),
        ("update_packages", "server1"),
        ("record_expected_moves", "unstandby_server1"),
        ("set_node_standby(off)", "server1"),
        ("wait_until_settled",),
        ("close_expected_moves", "unstandby_server1"),
        ("preflight_check",),
        # resources leave server2, where the primary's standby put them
        ("record_expected_moves", "failback_server2"),
        ("failback",),
        ("wait_until_settled",),
        ("close_expected_moves", "failback_server2"),
        ("compare_state",),
        ("render_report",),
    ]
    assert r.sequence(bookkeeping=True) == seq
    assert r.fake.ledger == {}  # every entry recorded was closed
    records = [c.params for c in r.calls if c.name == "record_expected_moves"]
    assert [(p["operation"], p.get("node")) for p in records] == [
        ("standby", "server2"),
        ("unstandby", "server2"),
        ("standby", "server1"),
        ("unstandby", "server1"),
        ("failback", "server2"),
    ]
    assert [(f["kind"], f.get("away_from")) for f in r.report["failovers"]] == [
        ("failover", "server1"), ("failback", None)]
    # the failover lasts from the primary's standby until its resources settled elsewhere
    server1 = {s["step"]: s for s in r.report["nodes"]["server1"]["steps"]}
    assert list(server1)[:3] == ["maintenance_window", "standby", "verify_moved"]
    failover = r.report["failovers"][0]
    assert failover["started"] == server1["standby"]["started"]
    assert failover["ended"] >= server1["verify_moved"]["ended"]
    assert all(p["cluster"] == "lab" and p["run_id"] == RUN_ID for p in records)
    # the window check gets the measured duration of every earlier node
    checks = r.fake.window_checks
    assert [len(c["step_seconds"]) for c in checks] == [0, 1]
    assert all(c["enforce"] is True and c["window"] == "" for c in checks)
    assert r.output["report"]["order"] == TWO
    assert r.output["report"]["step_seconds"] == checks[1]["step_seconds"] + [
        r.output["report"]["step_seconds"][-1]
    ]
    markdown = r.output["report_markdown"]
    assert markdown.startswith("**rolling_standby on lab: succeeded**")
    assert "| server2 | ok | pkg-a 1.0-1 → 1.0-2 |" in markdown
    render = next(c for c in r.calls if c.name == "render_report")
    assert render.params["execution_id"] == RUN_ID


def test_without_window_enforced_no_window_check() -> None:
    r = run(TWO)
    assert r.status == "succeeded", r.errors
    assert r.fake.window_checks == []


def test_record_failure_stops_before_the_step() -> None:
    r = run(TWO, fail_at=("record_expected_moves", "server1"))  # standby_server1
    assert r.status == "failed"
    assert not [c for c in r.calls if c.params.get("node") == "server1" and c.name in MUTATING]
    failure = r.report["failure"]
    assert failure["node"] == "server1"
    assert failure["step"] == "record_expected_moves (before standby)"
    assert r.calls[-1].name == "render_report"
    assert r.output["report_markdown"].startswith("**rolling_standby on lab: failed**")


@pytest.mark.parametrize(
    "nth,node,states",
    [
        # the secondary's wait (the first wait of the run): nothing was updated yet
        (1, "server2", {"server2": "standby", "server1": "online"}),
        # the primary's: its failover did not complete (server2's own wait and settle before)
        (3, "server1", {"server2": "online, updated", "server1": "standby"}),
    ],
    ids=["secondary", "primary-failover"],
)
def test_resources_not_settled_elsewhere_stop_before_the_update(
    nth: int, node: str, states: Dict[str, str]
) -> None:
    r = run(TWO, fail_at=("wait_until_settled", None), fail_nth=nth)
    assert r.status == "failed"
    report = r.report
    failure = report["failure"]
    assert (failure["node"], failure["step"]) == (node, "verify_moved")
    assert failure["code"] == "ACTION_FAILED"
    # where every node is: this one left in standby, said so, and how to get out
    assert failure["node_states"] == states
    assert report["nodes"][node]["state"] == "standby"
    assert failure["next"].startswith("pacemaker-update run rollback --cluster lab")
    # the node was put in standby and nothing else: not updated, not brought back online
    assert [c.brief() for c in r.calls if c.params.get("node") == node and c.name in MUTATING] == [
        ("set_node_standby(on)", node)
    ]
    assert r.sequence(bookkeeping=True)[-4:] == [
        ("record_expected_moves", f"standby_{node}"),
        ("set_node_standby(on)", node),
        ("wait_until_settled",),
        ("render_report",),
    ]
    # a failover that did not complete is not reported as one
    assert report["failovers"] == []
    # the standby's entry is not closed as verified (it expires by its ttl, as after any
    # failed step); the earlier ones were closed
    assert list(r.fake.ledger) == [f"{RUN_ID}.standby_{node}"]
    message = next(c for c in r.calls if c.ref == "core.echo").params["message"]
    assert f"FAILED at node {node}, step verify_moved: ACTION_FAILED" in message
    assert f'"{node}": "standby"' in message and "Next: pacemaker-update run rollback" in message
    assert r.output["report_markdown"].startswith("**rolling_standby on lab: failed**")
    assert [(s["node"], s["step"]) for s in r.output["progress"] if not s["ok"]] == [
        (node, "verify_moved")
    ]


def test_close_failure_is_a_warning_not_a_failure() -> None:
    r = run(TWO, fail_at=("close_expected_moves", None))  # the first close: standby_server2
    assert r.status == "succeeded", r.errors
    assert r.report["status"] == "succeeded"
    warnings = [w for w in r.report["warnings"] if "was not closed" in w]
    assert len(warnings) == 1 and f"{RUN_ID}.standby_server2" in warnings[0]
    assert "Warning: expected-moves entry" in r.output["report_markdown"]


def test_window_refusal_stops_at_the_node_boundary() -> None:
    r = run(TWO, window_enforced=True, window_refuse_at=1)  # refused before server1
    assert r.status == "succeeded", r.errors
    report = r.report
    assert report["status"] == "window_closed" and report["failure"] is None
    assert report["stopped"]["node"] == "server1"
    assert report["stopped"]["code"] == "WINDOW_TOO_SHORT"
    assert report["stopped"]["next_window"]["start"] == "2030-01-05T02:00:00+01:00"
    # nothing after the refused check touches the cluster, and nothing is left in the ledger
    after = r.sequence(bookkeeping=True)
    refused = [i for i, c in enumerate(after) if c == ("check_maintenance_window",)][1]
    assert after[refused + 1 :] == [("render_report",)]
    assert r.fake.ledger == {}
    assert report["nodes_done"] == ["server2"]
    assert report["nodes"]["server2"]["state"] == "online, updated"
    assert report["nodes"]["server1"]["state"] == "online"
    assert any("paused at node boundary; resume in the next window" in w
               for w in report["warnings"])
    assert "paused at node boundary" in r.output["report_markdown"]


def test_dry_run_records_nothing_and_is_never_refused_by_the_window() -> None:
    r = run(TWO, dry_run=True, window_enforced=True, window_refuse_at=0)
    assert r.status == "succeeded", r.errors
    names = [c.name for c in r.calls]
    assert "record_expected_moves" not in names and "close_expected_moves" not in names
    assert [c["enforce"] for c in r.fake.window_checks] == [False, False]
    assert names[-1] == "render_report"
    # the plan has the wait after each standby, before that node's update
    for node in TWO:
        steps = [s["step"] for s in r.report["nodes"][node]["steps"]]
        assert steps[steps.index("standby") + 1] == "verify_moved", steps
        assert steps.index("verify_moved") < steps.index("update_packages")
    assert r.sequence()[2:5] == [
        ("set_node_standby(on)", "server2"), ("wait_until_settled",),
        ("update_packages", "server2"),
    ]


def test_approvals_go_to_the_asking_channel_and_requester() -> None:
    ctx = {"st2": dict(ST2_CTX["st2"], source_channel="C0OPS", api_user="alice")}
    fake = FakeCluster(TWO, answers=[True, True])
    r = rehearse(
        "rolling_standby",
        {"cluster": "lab", "packages": ["pacemaker"], "approve": "each_node"},
        fake,
        context=ctx,
    )
    assert r.status == "succeeded", r.errors
    ask = fake.asks[0]
    assert ask["route"] == "C0OPS" and ask["users"] == ["alice"] and ask["ttl"] == 1440
    text = ask["schema"]["description"]
    assert "node server2" in text and "rolling_standby" in text and "update pacemaker" in text
    assert "On approval: put it in standby" in text
    assert "fail over" in fake.asks[1]["schema"]["description"]

    # configured users/roles win over the requester; no chat channel -> approval_route
    fake = FakeCluster(TWO, answers=[True, True])
    rehearse(
        "rolling_standby",
        {"cluster": "lab", "all_packages": True, "approve": "each_node",
         "approval_roles": ["ops"], "approval_route": "ops-room"},
        fake,
        context={"st2": dict(ST2_CTX["st2"], api_user="alice")},
    )
    assert fake.asks[0]["route"] == "ops-room" and fake.asks[0]["users"] == []
    assert fake.asks[0]["roles"] == ["ops"]


def test_update_cluster_passes_window_and_markdown_through() -> None:
    fake = FakeCluster(TWO, window_refuse_at=0)
    r = rehearse(
        "update_cluster",
        {"cluster": "lab", "method": "rolling_standby", "all_packages": True,
         "window_enforced": True, "window": "Sat 02:00/2h UTC"},
        fake,
    )
    assert r.status == "succeeded", r.errors
    assert fake.window_checks[0]["window"] == "Sat 02:00/2h UTC"
    assert r.output["report"]["status"] == "window_closed"
    assert r.sequence() == [("preflight_check",), ("snapshot_state",)]
    assert "paused at node boundary" in r.output["report_markdown"]
