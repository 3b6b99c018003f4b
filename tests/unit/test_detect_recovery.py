"""The service recovery after an unexpected failover paused a run (detect/recovery.py).

States start from recorded real crm_mon XML (tests/fixtures/crm_mon); the "survivor in
standby" state is the recorded crash with server2's standby flag set, as crm_mon shows a
node the run put in standby (the lab test tests/reliability/test_primary_crash.py proves
the whole path on a real cluster).
"""

import dataclasses
from pathlib import Path

import pytest
from pacemaker_update.detect.recovery import (
    BLOCKED,
    COMPLETED,
    NOT_STARTED,
    NOTHING,
    ONLINE,
    RUNNING,
    UNCERTAIN,
    decide_recovery,
    node_progress,
    recovery_message,
    service_down,
    where_nodes,
)
from pacemaker_update.state import parse_crm_mon_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"


def state(name, **node_flags):
    """A recorded state; node_flags: {node: {field: value}} changed on top."""
    parsed = parse_crm_mon_xml((FIXTURES / f"{name}.xml").read_text())
    nodes = tuple(dataclasses.replace(n, **node_flags.get(n.name, {})) for n in parsed.nodes)
    return dataclasses.replace(parsed, nodes=nodes)


def crashed_with_survivor_in_standby():
    return state("two_node_crashed", server2={"standby": True})


def task(action, node, status="succeeded", **params):
    return {"action": f"pacemaker_update.{action}", "status": status,
            "input": dict(params, cluster="lab", node=node)}


STANDBY = task("set_node_standby", "server2", enabled=True)
ONLINE_AGAIN = task("set_node_standby", "server2", enabled=False)


@pytest.mark.parametrize("tasks, expected", [
    ([], (None, NOT_STARTED)),
    ([STANDBY], ("server2", NOT_STARTED)),
    ([STANDBY, task("update_packages", "server2")], ("server2", COMPLETED)),
    ([STANDBY, task("update_packages", "server2", "running")], ("server2", RUNNING)),
    ([STANDBY, task("update_packages", "server2", "failed")], ("server2", UNCERTAIN)),
    ([STANDBY, task("update_packages", "server2", "timeout")], ("server2", UNCERTAIN)),
    ([STANDBY, task("update_packages", "server2"), ONLINE_AGAIN], (None, COMPLETED)),
    ([STANDBY, task("set_node_standby", "server2", "failed", enabled=False)],
     ("server2", NOT_STARTED)),
    # the previous node's update does not count for the node now in standby
    ([task("set_node_standby", "server1", enabled=True), task("update_packages", "server1"),
      task("set_node_standby", "server1", enabled=False), STANDBY], ("server2", NOT_STARTED)),
])
def test_node_progress_reads_the_runs_task_rows(tasks, expected):
    assert node_progress(tasks) == expected


@pytest.mark.parametrize("step", [NOT_STARTED, COMPLETED])
def test_the_only_node_left_comes_back_online_when_its_packages_are_not_underway(step):
    decision = decide_recovery(crashed_with_survivor_in_standby(), "server2", step)
    assert decision["action"] == ONLINE and decision["lost"] == ["server1"]


@pytest.mark.parametrize("step", [RUNNING, UNCERTAIN])
def test_never_in_the_middle_of_an_install(step):
    decision = decide_recovery(crashed_with_survivor_in_standby(), "server2", step)
    assert decision["action"] == BLOCKED and step in decision["reason"]
    assert "NOT done" in recovery_message(decision)


def test_nothing_when_another_node_can_run_the_service():
    # both nodes up: server2 in standby is just the update going on
    normal = state("two_node_normal", server2={"standby": True})
    assert decide_recovery(normal, "server2", COMPLETED)["action"] == NOTHING


def test_nothing_without_quorum_or_without_a_node_in_standby():
    lost = crashed_with_survivor_in_standby()
    no_quorum = dataclasses.replace(lost, summary=dataclasses.replace(
        lost.summary, have_quorum=False))
    assert decide_recovery(no_quorum, "server2", COMPLETED)["action"] == NOTHING
    assert decide_recovery(lost, None, COMPLETED)["action"] == NOTHING
    not_standby = state("two_node_crashed")
    assert decide_recovery(not_standby, "server2", COMPLETED)["action"] == NOTHING


def test_the_message_says_what_was_done_and_where_every_node_is():
    lost = crashed_with_survivor_in_standby()
    decision = dict(decide_recovery(lost, "server2", COMPLETED), done=True,
                    ledger_entry="run1.recover_online_server2", nodes=where_nodes(lost),
                    down=[])
    text = recovery_message(decision)
    assert "server2 brought back online" in text and "run1.recover_online_server2" in text
    assert "server1 OFFLINE" in text and "server2 online + standby" in text
    assert "do not resume" in text


def test_service_down_lists_what_runs_nowhere_but_not_clone_instances():
    assert service_down(state("two_node_normal")) == []
    assert service_down(state("two_node_standby")) == []  # ping's stopped instance: a clone
    assert service_down(state("three_node_quorum_lost")) == ["app", "vip"]


class FakeSt2Api:
    """The three calls recover_after_pause makes: the execution, then its children."""

    def __init__(self, statuses, children):
        self.statuses, self.children = list(statuses), children

    def get_execution(self, execution_id):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"id": execution_id, "status": status}

    def list_children(self, execution_id):
        return self.children.get(execution_id, [])


def st2_task(ex_id, ref, status, ts, **params):
    return {"id": ex_id, "action": {"ref": ref}, "status": status, "parameters": params,
            "start_timestamp": ts}


def test_st2_path_waits_for_the_pause_and_reads_the_subworkflow_tasks(monkeypatch):
    from pacemaker_update.detect import reaction
    monkeypatch.setattr(reaction.time, "sleep", lambda s: None)
    children = {
        "wf": [st2_task("m4", "pacemaker_update.rolling_standby", "paused",
                        "2026-01-01T00:00:01Z", cluster="lab")],
        "m4": [st2_task("t2", "pacemaker_update.update_packages", "succeeded",
                        "2026-01-01T00:00:03Z", node="server2"),
               st2_task("t1", "pacemaker_update.set_node_standby", "succeeded",
                        "2026-01-01T00:00:02Z", node="server2", enabled=True)]}
    seen = {}

    def recover(cluster, ledger, run_id, tasks):
        seen.update(run_id=run_id, progress=node_progress(tasks))
        return {"action": ONLINE, "done": True, "message": "ok"}

    api = FakeSt2Api(["pausing", "pausing", "paused"], children)
    out = reaction.recover_after_pause(api, "cfg", "ledger", "wf", 60, recover=recover)
    assert seen == {"run_id": "wf", "progress": ("server2", COMPLETED)}
    assert out["status"] == "paused" and out["action"] == ONLINE


def test_st2_path_does_nothing_to_an_update_that_did_not_pause():
    from pacemaker_update.detect import reaction
    api = FakeSt2Api(["failed"], {})
    out = reaction.recover_after_pause(api, "cfg", "ledger", "wf", 60,
                                       recover=lambda *a: pytest.fail("must not recover"))
    assert out["action"] == NOTHING and "failed" in out["message"]


# --- recover_service over a scripted transport (tests/helpers/fake_transport.py) ----------
def _survivor_in_standby_xml():
    """The recorded crash, with server2 in standby as the run left it."""
    text = (FIXTURES / "two_node_crashed.xml").read_text()
    marker = '<node name="server2"'
    head, tail = text.split(marker, 1)
    return head + marker + tail.replace('standby="false"', 'standby="true"', 1)


class BrokenLedger:
    def open(self, entry):
        from pacemaker_update.detect.store import LedgerStoreError
        raise LedgerStoreError("datastore down", code="LEDGER_UNAVAILABLE")

    def close(self, cluster, entry_id):
        pytest.fail("nothing was opened")


def test_no_online_when_the_ledger_cannot_announce_it():
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from helpers.fake_transport import CRM_MON, CommandScript, make_ctx
    from pacemaker_update import ops
    from pacemaker_update.detect.recovery import recover_service

    ops.forget_probes()  # the dialect probe is cached per process
    script = CommandScript()
    script.expect("server1", ["pcs", "--version"], stdout="0.11.5\n")
    script.expect("server1", ["crm_mon", "--version"], stdout="Pacemaker 2.1.5\n")
    script.expect("server1", CRM_MON, stdout=_survivor_in_standby_xml())
    ctx = make_ctx(script)
    tasks = [STANDBY, task("update_packages", "server2")]
    out = recover_service(ctx.cluster, BrokenLedger(), "run1", tasks,
                          context_factory=lambda: ctx)
    script.assert_done()  # crm_mon read once, no `crm node online` (the double refuses it)
    assert out["action"] == ONLINE and out["done"] is False and "ledger_entry" not in out
    assert out["message"].startswith("service recovery NOT done: the expected-moves ledger")
