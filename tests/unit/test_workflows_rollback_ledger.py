"""The rollback workflow announces its own moves in the expected-moves ledger and ends,
like the updates, with a rendered report (real orquesta conductor, test_workflows_driver).

A watcher beside a rollback must not pause it for the moves it makes: every step that
starts pacemaker, leaves maintenance, brings a node online or moves resources back to the
snapshot is recorded right before it runs and closed once verified.
"""

from typing import Any

from test_workflows_driver import ST2_CTX, FakeCluster, rehearse

TWO = ["server2", "server1"]
RUN_ID = ST2_CTX["st2"]["action_execution_id"]
SNAPSHOT = {"resources": {"grp": {"node": "server1", "role": "Started"}}}


def run(**kw: Any) -> Any:
    fake_kw = {k: kw.pop(k) for k in ("fail_at", "fail_nth") if k in kw}
    fake = FakeCluster(TWO, **fake_kw)
    result = rehearse("rollback", dict({"cluster": "lab"}, **kw), fake)
    result.fake = fake
    return result


def test_every_moving_step_is_recorded_before_and_closed_after() -> None:
    r = run(snapshot=SNAPSHOT)
    assert r.status == "succeeded", r.errors
    records = [c.params for c in r.calls if c.name == "record_expected_moves"]
    assert [(p["operation"], p.get("node")) for p in records] == [
        ("start_pacemaker", "server2"), ("node_ready", "server2"), ("unstandby", "server2"),
        ("start_pacemaker", "server1"), ("node_ready", "server1"), ("unstandby", "server1"),
        ("cluster_ready", None), ("cluster_restore", None)]
    assert all(p["run_id"] == RUN_ID and p["cluster"] == "lab" for p in records)
    assert r.fake.ledger == {}  # every entry recorded was closed
    names = [c.name for c in r.calls]
    at = [i for i, n in enumerate(names) if n == "record_expected_moves"]
    assert [names[i + 1] for i in at] == [
        "start_pacemaker", "set_node_maintenance", "set_node_standby"] * 2 + [
        "set_cluster_maintenance", "failback"]
    # closed only after the step was verified (the settle after the moves, for the cluster)
    closes = [i for i, n in enumerate(names) if n == "close_expected_moves"]
    assert names[closes[-1] - 1] == "wait_until_settled" and names[closes[-2] - 1] == (
        "wait_until_settled")


def test_the_report_is_rendered_like_the_updates() -> None:
    r = run(snapshot=SNAPSHOT)
    assert [c.name for c in r.calls][-1] == "render_report"
    assert r.output["report_markdown"].startswith("**rollback on lab: succeeded**")
    assert r.report["status"] == "succeeded" and r.report["run_id"] == RUN_ID


def test_a_failed_rollback_is_reported_and_still_fails() -> None:
    r = run(fail_at=("set_node_standby", "server1"))
    assert r.status == "failed"
    assert (r.report["failure"]["node"], r.report["failure"]["step"]) == ("server1", "online")
    assert r.output["report_markdown"].startswith("**rollback on lab: failed**")
    assert "rollback --cluster lab again" in r.report["failure"]["next"]


def test_a_ledger_that_cannot_record_stops_before_the_step() -> None:
    r = run(fail_at=("record_expected_moves", None))
    assert r.status == "failed"
    assert "start_pacemaker" not in [c.name for c in r.calls]
    assert r.report["failure"]["step"] == "record_expected_moves (before start_pacemaker)"


def test_a_failed_close_is_a_warning() -> None:
    r = run(fail_at=("close_expected_moves", None))
    assert r.status == "succeeded", r.errors
    assert [w for w in r.report["warnings"] if "was not closed" in w]


def test_dry_run_records_nothing() -> None:
    r = run(dry_run=True, snapshot={"resources": {}})
    assert r.status == "succeeded", r.errors
    assert not [c for c in r.calls if c.name.endswith("expected_moves")]
    assert r.output["report_markdown"]
