"""Methods 1, 2, 3 and 5 wired like method 4 (test_workflows_method4.py), on the real conductor.

What a user expects of every method: each step that moves resources is announced in the
expected-moves ledger before it runs and closed after it is verified (nothing left open),
a ledger that cannot record stops the update before the step, a closing window or an
expired approval ends cleanly with every node in service, every end has report_markdown.
"""

from typing import Any, Dict, List, Optional, Tuple

import pytest
from test_workflows_driver import MUTATING, ST2_CTX, FakeCluster, rehearse

TWO = ["server2", "server1"]
RUN_ID = ST2_CTX["st2"]["action_execution_id"]

# workflow -> (report method name, expected records (operation, node) with failback=original
# where the method has one, the step each record must directly precede)
LEDGER: Dict[str, Tuple[str, List[Tuple[str, Optional[str]]], List[str]]] = {
    "full_stop_update": (
        "full_stop",
        [("cluster_stop", None), ("cluster_start", None)],
        ["stop_pacemaker", "start_cluster"],
    ),
    "rolling_cluster_maintenance": (
        "cluster_maintenance",
        [("cluster_maintenance", None), ("cluster_ready", None)],
        ["set_cluster_maintenance", "set_cluster_maintenance"],
    ),
    "rolling_node_maintenance": (
        "node_maintenance",
        [("node_maintenance", "server2"), ("node_ready", "server2"), ("failover", "server1"),
         ("node_maintenance", "server1"), ("node_ready", "server1"), ("failback", "server1")],
        ["set_node_maintenance", "set_node_maintenance", "failover", "set_node_maintenance",
         "set_node_maintenance", "failback"],
    ),
    "rolling_stack_update": (
        "stack_update",
        [("stop_pacemaker", "server2"), ("start_pacemaker", "server2"), ("failover", "server1"),
         ("stop_pacemaker", "server1"), ("start_pacemaker", "server1"), ("failback", "server1")],
        ["stop_pacemaker", "start_pacemaker", "failover", "stop_pacemaker", "start_pacemaker",
         "failback"],
    ),
}
WIRED = sorted(LEDGER)


def run(name: str, answers: Optional[List[bool]] = None, **kw: Any) -> Any:
    fake_kw = {k: kw.pop(k) for k in ("fail_at", "fail_nth", "window_refuse_at") if k in kw}
    fake = FakeCluster(TWO, answers=answers, **fake_kw)
    inputs: Dict[str, Any] = {"cluster": "lab", "all_packages": True}
    if name != "rolling_cluster_maintenance":
        inputs["failback"] = "original"
    inputs.update(kw)
    result = rehearse(name, inputs, fake)
    result.fake = fake
    return result


@pytest.mark.parametrize("name", WIRED)
def test_every_moving_step_is_recorded_before_and_closed_after(name: str) -> None:
    r = run(name, window_enforced=True)
    assert r.status == "succeeded", r.errors
    method, expected, steps = LEDGER[name]
    records = [c.params for c in r.calls if c.name == "record_expected_moves"]
    assert [(p["operation"], p.get("node")) for p in records] == expected
    assert all(p["run_id"] == RUN_ID and p["cluster"] == "lab" for p in records)
    assert r.fake.ledger == {}  # every entry recorded was closed
    names = [c.name for c in r.calls]
    at = [i for i, n in enumerate(names) if n == "record_expected_moves"]
    assert [names[i + 1] for i in at] == steps  # each record right before its step
    assert r.fake.window_checks and all(c["enforce"] for c in r.fake.window_checks)
    assert r.calls[-1].name == "render_report"
    assert r.output["report_markdown"].startswith(f"**{method} on lab: succeeded**")


@pytest.mark.parametrize("name", WIRED)
def test_record_failure_stops_before_the_step(name: str) -> None:
    r = run(name, fail_at=("record_expected_moves", None))  # the first record
    assert r.status == "failed"
    first_step = LEDGER[name][2][0]
    assert first_step not in [c.name for c in r.calls]
    assert r.report["failure"]["step"].startswith("record_expected_moves (before ")
    assert r.output["report_markdown"].startswith(f"**{LEDGER[name][0]} on lab: failed**")


@pytest.mark.parametrize("name", WIRED)
def test_close_failure_is_a_warning(name: str) -> None:
    r = run(name, fail_at=("close_expected_moves", None))
    assert r.status == "succeeded", r.errors
    assert [w for w in r.report["warnings"] if "was not closed" in w]


@pytest.mark.parametrize("name", WIRED)
def test_window_refusal_ends_with_every_node_in_service(name: str) -> None:
    r = run(name, window_enforced=True, window_refuse_at=0)
    assert r.status == "succeeded", r.errors
    assert r.report["status"] == "window_closed" and r.report["failure"] is None
    assert r.fake.ledger == {}
    moved = [c.brief() for c in r.calls if c.name in MUTATING]
    if name == "rolling_cluster_maintenance":  # maintenance-mode lifted through the guard
        assert moved == [("set_cluster_maintenance(on)",), ("set_cluster_maintenance(off)",)]
        assert ("check_maintenance_exit",) in r.sequence()
        assert r.report["maintenance_mode"] == "off"
    else:
        assert moved == []
    assert "paused at node boundary" in r.output["report_markdown"]


@pytest.mark.parametrize("name", ["full_stop_update", "rolling_cluster_maintenance"])
def test_expired_approval_stops_cleanly(name: str) -> None:
    def responder(ref: str, params: Dict[str, Any]) -> Any:
        if ref == "core.ask":
            return False, {"error": "inquiry expired"}
        return fake(ref, params)

    fake = FakeCluster(TWO)
    r = rehearse(name, {"cluster": "lab", "approve": "each_node", "all_packages": True},
                 responder)
    assert r.status == "succeeded", r.errors
    assert r.report["status"] == "approval_expired" and r.report["failure"] is None
    assert not [c for c in r.calls if c.name == "update_packages"]
    assert fake.ledger == {}
    assert "approval expired, nothing was done" in r.output["report_markdown"]


def test_full_stop_approval_goes_to_the_asking_channel() -> None:
    fake = FakeCluster(TWO, answers=[True])
    ctx = {"st2": dict(ST2_CTX["st2"], source_channel="C0OPS", api_user="alice")}
    r = rehearse("full_stop_update",
                 {"cluster": "lab", "approve": "each_node", "all_packages": True}, fake,
                 context=ctx)
    assert r.status == "succeeded", r.errors
    assert fake.asks[0]["route"] == "C0OPS" and fake.asks[0]["users"] == ["alice"]
