"""The runner's caches (engine/conductor.py, engine/lazyyaql.py, configcheck, config).

What a user relies on: the caches never change a result. A workflow gives the same output
and the same task inputs with the cached graph, memoized cycles and lazy YAQL conversion as
on the bare conductor; an edited schema or workflow is read again, not served stale.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from pacemaker_update import config as config_mod
from pacemaker_update import configcheck
from pacemaker_update.engine import compat, conductor, lazyyaql
from pacemaker_update.engine.engine import default_pack_dir

compat.apply_fixes()

from orquesta import conducting, events, statuses  # type: ignore  # noqa: E402
from orquesta.composers import native as native_composer  # type: ignore  # noqa: E402
from orquesta.expressions import base as expr_base  # type: ignore  # noqa: E402
from orquesta.specs import native  # type: ignore  # noqa: E402
from test_engine_compaction import LOOP  # noqa: E402

WORKFLOWS = Path(default_pack_dir()) / "actions" / "workflows"


# -- config schema and config ---------------------------------------------------------
def test_schema_is_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "config.schema.yaml"
    path.write_text("a:\n  type: string\n")
    first = configcheck.load_st2_schema(path)
    first["a"]["type"] = "mutated by a caller"
    assert configcheck.load_st2_schema(path) == {"a": {"type": "string"}}  # own copies
    path.write_text("a:\n  type: integer\nb:\n  type: string\n")
    assert configcheck.load_st2_schema(path) == {"a": {"type": "integer"},
                                                 "b": {"type": "string"}}
    path.unlink()
    with pytest.raises(Exception) as info:
        configcheck.load_st2_schema(path)
    assert getattr(info.value, "code", None) == "CONFIG_SCHEMA_MISSING"


def _cluster(address: str) -> Dict[str, Any]:
    return {"clusters": {"c": {"nodes": [{"name": "n1", "address": address},
                                         {"name": "n2", "address": "10.0.0.2"}]}}}


def test_loaded_config_follows_its_data_and_bad_data_always_raises() -> None:
    one = config_mod.load_config(_cluster("10.0.0.1"), source="x")
    assert config_mod.load_config(_cluster("10.0.0.1"), source="x") == one
    other = config_mod.load_config(_cluster("10.0.0.9"), source="x")
    assert other.cluster("c").node("n1").address == "10.0.0.9"
    assert one.cluster("c").node("n1").address == "10.0.0.1"
    for _ in range(2):  # an invalid config is never cached as valid
        with pytest.raises(Exception) as info:
            config_mod.load_config(_cluster("not an address!"), source="x")
        assert getattr(info.value, "code", None) == "CONFIG_INVALID"


# -- graphs and cycles --------------------------------------------------------------
def _texts() -> List[Tuple[str, str]]:
    texts = [("loop", LOOP)]
    texts += [(p.name, p.read_text()) for p in sorted(WORKFLOWS.glob("*.yaml"))]
    return texts


@pytest.mark.parametrize("name,text", _texts())
def test_memoized_cycles_equal_orquestas_answer(name: str, text: str) -> None:
    spec = native.WorkflowSpec(text)
    bare = native_composer.WorkflowComposer.compose(spec)
    memo = conductor.composed_graph(spec, native_composer.WorkflowComposer)
    assert isinstance(memo, conductor.CycleMemoGraph)
    assert memo.serialize() == bare.serialize()
    for task_id in spec.tasks:
        expected = sorted(sorted(c) for c in bare.in_cycle(task_id))
        assert sorted(sorted(c) for c in memo.in_cycle(task_id)) == expected
        assert sorted(sorted(c) for c in memo.in_cycle(task_id)) == expected  # memoized


def test_changing_the_graph_forgets_the_cycles() -> None:
    graph = conductor.CycleMemoGraph()
    graph.add_transition("a", "b")
    assert graph.in_cycle("a") == []
    graph.add_transition("b", "a")
    assert sorted(graph.in_cycle("a")[0]) == ["a", "b"]


def test_graph_cache_on_disk_is_keyed_on_the_workflow(tmp_path: Path) -> None:
    spec = native.WorkflowSpec(LOOP)
    composer = native_composer.WorkflowComposer
    conductor._GRAPHS.clear()  # a fresh process
    first = conductor.composed_graph(spec, composer, str(tmp_path))
    files = list((tmp_path / "graphs").glob("*.json"))
    assert len(files) == 1
    conductor._GRAPHS.clear()  # a new process: read from disk, each conductor its own copy
    second = conductor.composed_graph(spec, composer, str(tmp_path))
    assert second is not first and second._graph is not first._graph
    assert second.serialize() == composer.compose(spec).serialize()
    changed = native.WorkflowSpec(LOOP.replace("n: 6", "n: 7"))
    assert conductor.graph_key(changed) != conductor.graph_key(spec)
    conductor._GRAPHS.clear()
    files[0].write_text("{broken")  # a damaged cache file costs a compose, nothing else
    third = conductor.composed_graph(spec, composer, str(tmp_path))
    assert third.serialize() == composer.compose(spec).serialize()
    assert json.loads(files[0].read_text())["key"] == conductor.graph_key(spec)


# -- whole runs: bare conductor vs the runner's ------------------------------------
def _drive(cls: Any, reload: bool) -> Tuple[Dict[str, Any], List[Any]]:
    conductor_ = cls(native.WorkflowSpec(LOOP), context={}, inputs={"n": 6})
    conductor_.request_workflow_status(statuses.RUNNING)
    inputs: List[Any] = []
    for _ in range(200):
        tasks = conductor_.get_next_tasks()
        if not tasks:
            break
        for task in tasks:
            for action in task["actions"]:
                inputs.append((task["id"], task["route"], action.get("input")))
                run = events.ActionExecutionEvent(statuses.RUNNING)
                conductor_.update_task_state(task["id"], task["route"], run)
                value = (action.get("input") or {}).get("n")
                result = None if action["action"] is None else {"result": value}
                done = events.ActionExecutionEvent(statuses.SUCCEEDED, result=result)
                conductor_.update_task_state(task["id"], task["route"], done)
                if isinstance(conductor_, conductor.Conductor):  # what a save writes
                    assert conductor_.serialize_json() == json.dumps(conductor_.serialize())
                if reload:
                    data = json.loads(json.dumps(conductor_.serialize()))
                    conductor_ = cls.deserialize(data)
    assert conductor_.get_workflow_status() == statuses.SUCCEEDED, conductor_.errors
    conductor_.render_workflow_output()
    return conductor_.get_workflow_output(), inputs


def test_runner_conductor_and_lazy_yaql_give_the_bare_results() -> None:
    lazyyaql.uninstall()
    try:
        bare = _drive(conducting.WorkflowConductor, reload=False)
    finally:
        lazyyaql.install()
    assert bare[0]["i"] == 6 and len(bare[1]) >= 8
    assert _drive(conductor.Conductor, reload=False) == bare
    assert _drive(conductor.Conductor, reload=True) == bare
    restored = conductor.Conductor.deserialize(
        json.loads(json.dumps(conductor.Conductor(native.WorkflowSpec(LOOP)).serialize())))
    assert isinstance(restored.graph, conductor.CycleMemoGraph)


EXPRESSIONS = [
    "<% ctx().d %>", "<% ctx().l.select($.x) %>", "<% ctx(d).a[1].b %>", "<% ctx() %>",
    "<% ctx().d.keys() %>", "<% result() %>", "<% ctx().l.distinct() %>",
    "<% ctx().d.set('z', 1) %>", "<% str(ctx().d) %>", "<% ctx().d = ctx().d %>",
    "<% len(ctx().d) %>", "<% ctx().d.containsKey(a) %>", "<% ctx(__state) %>",
    "<% ctx().missing %>", "<% ctx().d.items() %>", "<% succeeded() %>",
    "<% task_status(t) %>", "{{ ctx().d }}", "<% ctx().odd %>", "<% ctx().odd.k %>",
    "<% ctx().l.where($.x = 1) %>", "<% ctx().d.a.concat(ctx().l) %>",
    "<% ctx().l + [dict(x => 3)] %>", "<% ctx().keys() %>", "<% len(ctx()) %>",
    "<% ctx().containsKey('d') %>", "<% ctx().containsKey('__state') %>",
    "<% ctx().set('q', 1).q %>", "<% ctx().get('d').get('s') %>", "<% ctx().items() %>",
    "<% ctx(l).select($.x) %>", "<% ctx().odd.t %>", "<% len(ctx().values()) %>",
]


def _evaluate_all(data: Dict[str, Any]) -> List[Any]:
    answers: List[Any] = []
    for text in EXPRESSIONS:
        try:
            value = expr_base.evaluate(text, data)
            answers.append((type(value).__name__, value))
        except Exception as exc:  # noqa: BLE001 - the error is part of the answer
            answers.append(("error", type(exc).__name__, str(exc)))
    return answers


def test_lazy_conversion_answers_like_yaqls_eager_one() -> None:
    data = {
        "d": {"a": [1, {"b": 2}], "s": "x"}, "l": [{"x": 1}, {"x": 2}, {"x": 1}],
        "odd": {"t": (1, [2]), "k": {1: "int key", "1": "str key"}, "n": None, "f": 1.5},
        "__state": {"tasks": {"t__r0": 0}, "sequence": [{"id": "t", "status": "succeeded"}],
                    "routes": [[]]},
        "__current_task": {"id": "t", "route": 0, "result": {"r": [1, 2]}},
    }
    lazyyaql.uninstall()
    try:
        eager = _evaluate_all(data)
    finally:
        lazyyaql.install()
    assert _evaluate_all(data) == eager
    assert ("bool", True) in eager and eager[0] == ("dict", {"a": [1, {"b": 2}], "s": "x"})
    view = lazyyaql.convert_lazily({"k": [1, {"x": 1}]})
    assert hash(view) == hash(lazyyaql.yaql_utils.convert_input_data({"k": [1, {"x": 1}]}))


@pytest.mark.parametrize("name,text", _texts())
def test_workflow_parsed_through_libyaml_is_orquestas_spec(name: str, text: str) -> None:
    from pacemaker_update.engine import workflow

    ours = workflow.WorkflowSpec(workflow._preparsed(text))
    theirs = native.WorkflowSpec(text)
    assert ours.serialize() == theirs.serialize()
    assert ours.inspect(raise_exception=False) == theirs.inspect(raise_exception=False)
    assert workflow._preparsed("tasks: [unclosed") == "tasks: [unclosed"  # orquesta's error
