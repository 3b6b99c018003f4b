"""Method 4 (rolling_standby) wired to the pack's other parts, rehearsed on the real conductor.

What a user expects: every step that moves resources is announced in the expected-moves
ledger before it runs and closed once verified (so the failover watcher does not cry wolf),
a ledger that cannot record stops the update before the step, a maintenance window that
closes stops at a node boundary with every node in service, approvals go to the channel
that asked, and every end of the run comes with the report rendered as Markdown.
"""

from typing import Any, Dict, List, Tuple

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
