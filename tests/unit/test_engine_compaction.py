"""The runner folds orquesta's context history between steps (engine/compaction.py).

What a user relies on: a workflow that loops and publishes a growing list (as every update
method does with its per-node progress) gives exactly the output it gives on the bare
conductor, including across a crash/resume (state serialized and reloaded at every step),
and the stored run state no longer grows with every step's copy of that list.
"""

import json
import os
from typing import Any, Dict, List, Tuple

from pacemaker_update.engine import Engine, compat
from pacemaker_update.engine.compaction import compact_contexts

compat.apply_fixes()

from orquesta import conducting, events, statuses  # type: ignore  # noqa: E402
from orquesta.specs import native  # type: ignore  # noqa: E402

# A loop that publishes a growing list and a growing dict, a fork with a join after the
# loop (contexts of two branches merged), a task without action, and a retried task.
LOOP = """version: 1.0
input:
  - n: 6
vars:
  - i: 0
  - log: []
  - seen: {}
  - nested: {a: {x: 1}}
  - l: 0
  - r: 0
  - total: 0
output:
  - log: <% ctx().log %>
  - seen: <% ctx().seen %>
  - nested: <% ctx().nested %>
  - total: <% ctx().total %>
  - i: <% ctx().i %>
tasks:
  begin:
    next:
      - do: step
  step:
    action: t.noop
    input:
      n: <% ctx().i %>
    next:
      - when: <% succeeded() %>
        publish:
          - log: <% ctx().log + [dict(i => ctx().i, got => result().result,
              seen => len(ctx().seen))] %>
          - seen: <% ctx().seen.set(str(ctx().i), ctx().i * ctx().i) %>
          - nested: <% dict(a => dict(y => ctx().i)) %>
          - i: <% ctx().i + 1 %>
        do: again
  again:
    next:
      - when: <% ctx().i < ctx().n %>
        do: step
      - when: <% ctx().i >= ctx().n %>
        do: [left, right]
  left:
    action: t.noop
    input:
      n: <% len(ctx().log) %>
    next:
      - when: <% succeeded() %>
        publish:
          - l: <% result().result %>
        do: join
  right:
    next:
      - publish:
          - r: <% ctx().i * 10 %>
        do: join
  join:
    join: all
    next:
      - publish:
          - total: <% ctx().l + ctx().r + len(ctx().log) %>
        do: last
  last:
    action: t.noop
    input:
      n: <% ctx().total %>
"""


def drive(fold: bool, reload: bool) -> Tuple[Dict[str, Any], int]:
    """Drive LOOP by hand on the real conductor; (output, contexts held at the end)."""
    spec = native.WorkflowSpec(LOOP)
    conductor = conducting.WorkflowConductor(spec, context={}, inputs={"n": 6})
    conductor.request_workflow_status(statuses.RUNNING)
    for _ in range(200):
        tasks = conductor.get_next_tasks()
        if not tasks:
            break
        for task in tasks:
            for action in task["actions"]:
                run = events.ActionExecutionEvent(statuses.RUNNING)
                conductor.update_task_state(task["id"], task["route"], run)
                value = (action.get("input") or {}).get("n")
                result = None if action["action"] is None else {"result": value}
                done = events.ActionExecutionEvent(statuses.SUCCEEDED, result=result)
                conductor.update_task_state(task["id"], task["route"], done)
                if fold:
                    compact_contexts(conductor)
                if reload:  # what a resume after a crash reads back
                    data = json.loads(json.dumps(conductor.serialize()))
                    conductor = conducting.WorkflowConductor.deserialize(data)
    assert conductor.get_workflow_status() == statuses.SUCCEEDED, conductor.errors
    conductor.render_workflow_output()
    return conductor.get_workflow_output(), len(conductor.workflow_state.contexts)


def test_folded_history_gives_the_same_output_as_the_bare_conductor() -> None:
    bare, bare_contexts = drive(fold=False, reload=False)
    folded, folded_contexts = drive(fold=True, reload=False)
    reloaded, _ = drive(fold=True, reload=True)
    assert bare["i"] == 6 and len(bare["log"]) == 6 and bare["total"] == 6 + 60 + 6
    assert bare["log"][-1] == {"i": 5, "got": 5, "seen": 5}
    assert bare["nested"] == {"a": {"x": 1, "y": 5}}  # orquesta merges published dicts
    assert folded == bare and reloaded == bare
    assert bare_contexts >= 10 and folded_contexts <= 3


def make_pack(root: str) -> str:
    """A pack with t.noop (python) and the loop workflow t.loop."""
    os.makedirs(os.path.join(root, "actions", "workflows"))
    files = {
        "pack.yaml": "ref: t\nname: t\nversion: 0.0.1\n",
        "actions/noop.py": (
            "from pacemaker_update.st2compat import Action\n\n\n"
            "class Noop(Action):\n    def run(self, n=0):\n        return (True, n)\n"
        ),
        "actions/noop.yaml": (
            "name: noop\nrunner_type: python-script\nentry_point: noop.py\n"
            "parameters:\n  n:\n    type: integer\n    default: 0\n"
        ),
        "actions/loop.yaml": (
            "name: loop\nrunner_type: orquesta\nentry_point: workflows/loop.yaml\n"
            "parameters:\n  n:\n    type: integer\n    default: 6\n"
        ),
        "actions/workflows/loop.yaml": LOOP,
    }
    for name, text in files.items():
        with open(os.path.join(root, name), "w") as handle:
            handle.write(text)
    return root


def test_engine_run_stores_a_bounded_state_and_the_bare_output(tmp_path: Any) -> None:
    pack = make_pack(str(tmp_path / "pack"))
    engine = Engine(pack, state_dir=str(tmp_path / "state"), user="tester", poll_interval=0.01)
    result = engine.start("loop", {"n": 6})
    assert result.status == "succeeded", result.errors
    bare, _ = drive(fold=False, reload=False)
    assert result.output == bare
    stored = json.loads(engine.store.get_run(result.run_id, with_state=True)["conductor"])
    contexts: List[Any] = stored["state"]["contexts"]
    assert len(contexts) <= 3
    # every task's input was rendered from the full history: the store has them all
    inputs = [t["input"] for t in engine.store.list_tasks(result.run_id) if t["task_id"] == "step"]
    assert [i["n"] for i in inputs] == [0, 1, 2, 3, 4, 5]
