"""Rehearsals of the embedded runner with the real orquesta conductor and a test pack."""

import glob
import json
import os
import sys
import time

import pytest
from pacemaker_update.engine import Engine, compat
from pacemaker_update.errors import InvalidInputError, RunStateError

PACK = os.path.join(os.path.dirname(__file__), "..", "fixtures", "enginepack")


@pytest.fixture
def events():
    return []


@pytest.fixture
def engine(tmp_path, events):
    return Engine(
        PACK,
        state_dir=str(tmp_path / "state"),
        config={"key": "cfg"},
        on_event=events.append,
        user="tester",
        poll_interval=0.02,
    )


def store_bytes(engine):
    data = b""
    for path in glob.glob(os.path.join(engine.state_dir, "runs.sqlite*")):
        with open(path, "rb") as handle:
            data += handle.read()
    return data


def test_compat_fixes_are_idempotent_and_only_where_needed():
    first = compat.apply_fixes()
    assert compat.apply_fixes() == first
    fixes = compat.applied_fixes()
    assert ("fractions.gcd" in fixes) == (sys.version_info >= (3, 9))
    from orquesta.utils import parameters

    assert parameters.parse_inline_params("a=TRUE b=false") == [{"a": True}, {"b": False}]


def test_linear_flow_publishes_and_sees_st2_context(engine, events):
    result = engine.start("linear", {"message": "hi"})
    assert result.status == "succeeded" and result.exit_code == 0
    assert result.output["echoed"] == "hi hi"
    assert result.output["shouted"] == "hi hi!"
    assert result.output["who"] == "tester" and result.output["pack"] == "enginepack"
    tasks = engine.store.list_tasks(result.run_id)
    assert [t["task_id"] for t in tasks] == ["first", "marker", "second"]
    first = tasks[0]["result"]
    assert first["result"]["config_key"] == "cfg"
    assert first["stdout"] == "echoing hi\n" and first["exit_code"] == 0
    assert tasks[2]["result"]["return_code"] == 0 and tasks[2]["result"]["succeeded"] is True
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert any(e.kind == "action_output" and e.message == "echoing hi" for e in events)


def test_failure_branch_runs_cleanup_then_fails(engine):
    result = engine.start("branches", {"fail_mode": "fail"})
    assert result.status == "failed" and result.exit_code == 1
    assert result.output["reason"] == "disk full"
    ran = [t["task_id"] for t in engine.store.list_tasks(result.run_id)]
    assert ran == ["choose", "bad", "cleanup"]


def test_exception_in_action_fails_with_traceback(engine):
    result = engine.start("branches", {"fail_mode": "raise"})
    assert result.status == "succeeded"  # the failure branch handled it
    assert "RuntimeError: kaboom from raise_py" in result.output["stderr"]
    assert result.output["exit_code"] == 1


def test_with_items_respects_concurrency(engine, tmp_path):
    path = str(tmp_path / "items.txt")
    result = engine.start("items", {"path": path, "seconds": 0.2, "concurrency": 2})
    assert result.status == "succeeded"
    assert result.output["appended"] == ["a", "b", "c", "d", "e"]
    running = peak = 0
    with open(path) as handle:
        written = handle.read().split("\n")
    for line in written:
        if line.startswith("start"):
            running += 1
            peak = max(peak, running)
        elif line.startswith("end"):
            running -= 1
    assert peak == 2


def test_retry_waits_the_delay_between_attempts(engine, tmp_path):
    result = engine.start("retry", {"path": str(tmp_path / "count"), "succeed_after": 2})
    assert result.status == "succeeded" and result.output["attempt"] == 3
    tasks = engine.store.list_tasks(result.run_id)
    assert [t["status"] for t in tasks] == ["failed", "failed", "succeeded"]
    assert all(t["delay"] >= 1.0 for t in tasks[1:])
    assert tasks[0]["delay"] in (0, 0.0, None)


def test_subworkflow_output_and_errors(engine):
    ok = engine.start("parent", {"message": "nested"})
    assert ok.status == "succeeded"
    assert ok.output["child_output"]["echoed"] == "nested"
    children = engine.store.child_runs(ok.run_id)
    assert len(children) == 1 and children[0]["status"] == "succeeded"
    bad = engine.start("parent", {"fail_child": True})
    assert bad.status == "failed"
    task = [t for t in engine.store.list_tasks(bad.run_id) if t["task_id"] == "bad_child"][0]
    assert set(task["result"]) == {"output", "errors"}
    assert task["result"]["output"]["reason"] == "disk full"


def test_task_without_action_and_empty_items_are_fast_forwarded(engine):
    result = engine.start("empty_items", {})
    assert result.status == "succeeded" and result.output["got"] == []


def test_st2kv_and_action_service_share_the_kv_table(engine):
    result = engine.start("kvflow", {})
    assert result.output["from_kv"] == "hello-kv"
    assert engine.store.kv_get("greeting") == "hello-kv"


def test_ask_auto_approve(tmp_path):
    eng = Engine(PACK, state_dir=str(tmp_path), auto_approve=True, poll_interval=0.02)
    result = eng.start("ask", {})
    assert result.status == "succeeded" and result.output["decision"] == "approved"
    task = eng.store.list_tasks(result.run_id)[0]
    assert set(task["result"]) == {"schema", "roles", "users", "route", "ttl", "response"}
    assert task["result"]["route"] == "ops"


def test_ask_pauses_then_denied_or_approved_on_resume(engine):
    for answer, decision in ((False, "denied"), (True, "approved")):
        paused = engine.start("ask", {})
        assert paused.status == "paused" and paused.exit_code == 3
        with pytest.raises(InvalidInputError):
            engine.resume(paused.run_id, respond={"approved": "yes"})
        done = engine.resume(paused.run_id, respond={"approved": answer})
        assert done.status == "succeeded" and done.output["decision"] == decision
        assert done.output["response"] == {"approved": answer}


def test_ask_prompt_answers(tmp_path):
    asked = []

    def prompt(schema, task_id):
        asked.append(task_id)
        return {"approved": False}

    eng = Engine(PACK, state_dir=str(tmp_path), prompt=prompt, poll_interval=0.02)
    assert eng.start("ask", {}).output["decision"] == "denied"
    assert asked == ["approval"]


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"message": "x", "bogus": 1}, "Unknown parameter(s) bogus"),
        ({"message": "x", "times": "two"}, "'two' is not of type 'integer'"),
        ({}, "'message' is a required property"),
    ],
)
def test_invalid_parameters_are_refused_before_anything_runs(engine, params, fragment):
    with pytest.raises(InvalidInputError) as info:
        engine.start("linear", params)
    assert fragment in info.value.message
    assert engine.store.list_runs() == []


def test_immutable_and_enum_checked_for_task_actions(engine):
    spec = engine.registry.resolve("echo_py")
    with pytest.raises(InvalidInputError, match="immutable"):
        spec.validate({"message": "x", "api_version": "v2"})
    with pytest.raises(InvalidInputError, match="is not one of"):
        spec.validate({"message": "x", "mode": "quiet"})
    assert spec.validate({"message": "x"})["api_version"] == "v1"


def test_shell_actions_are_refused(engine):
    with pytest.raises(InvalidInputError, match="core.local runs its cmd through a shell"):
        engine.start("local_wf", {})


def test_secrets_never_reach_the_store_or_output(engine):
    secret = "Sup3r-S3cret-Value"
    result = engine.start("linear", {"message": "hi", "password": secret})
    assert result.output["secret_seen"] == "********"
    run = engine.store.get_run(result.run_id)
    assert run["params"]["password"] == "********"
    engine.store.db.execute("PRAGMA wal_checkpoint(FULL)")
    assert secret.encode() not in store_bytes(engine)
    with pytest.raises(InvalidInputError, match="secret"):
        engine.store.update_run(result.run_id, status="paused")
        engine.resume(result.run_id)


def test_resume_refuses_finished_runs(engine):
    result = engine.start("branches", {"fail_mode": "ok"})
    with pytest.raises(RunStateError, match="already succeeded") as info:
        engine.resume(result.run_id)
    # what to do instead (the runner was killed after the run ended, say)
    assert info.value.code == "RUN_FINISHED"
    assert info.value.hint == (f"`pacemaker-update show {result.run_id}` prints its result "
                               "and report")


def test_overhead_per_task_against_bare_conductor(engine, capsys):
    """Report (not assert) the runner's cost per task next to the bare conductor's."""
    from orquesta import conducting, events, statuses
    from orquesta.specs.native import WorkflowSpec

    with open(os.path.join(PACK, "actions", "workflows", "chain.yaml")) as handle:
        text = handle.read()
    start = time.monotonic()
    conductor = conducting.WorkflowConductor(WorkflowSpec(text), context={"st2": {}})
    conductor.request_workflow_status(statuses.RUNNING)
    tasks = conductor.get_next_tasks()
    count = 0
    while tasks:
        for task in tasks:
            for status in (statuses.RUNNING, statuses.SUCCEEDED):
                conductor.update_task_state(
                    task["id"], task["route"], events.ActionExecutionEvent(status, result=0)
                )
            count += 1
        tasks = conductor.get_next_tasks()
    bare_ms = 1000 * (time.monotonic() - start) / count
    result = engine.start("chain", {})
    timing = result.timing
    assert result.status == "succeeded" and timing["actions"] == count == 30
    assert timing["overhead"] <= timing["wall"]
    with capsys.disabled():
        print(
            "\n[overhead] bare conductor %.2f ms/task; embedded runner overhead %.2f ms/task "  # noqa: UP031
            "(wall %.3fs, in actions %.4fs) on a %d-task chain, Python %s"
            % (
                bare_ms,
                timing["overhead_per_action_ms"],
                timing["wall"],
                timing["action_time"],
                count,
                sys.version.split()[0],
            )
        )


def test_store_records_json_conductor_state(engine):
    result = engine.start("linear", {"message": "x"})
    row = engine.store.get_run(result.run_id, with_state=True)
    state = json.loads(row["conductor"])
    assert state["state"]["status"] == "succeeded"
    assert engine.store.list_inflight(result.run_id) == []
