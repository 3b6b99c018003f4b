"""Keeping the conductor's context history small between steps.

orquesta keeps every published value of every transition (``workflow_state.contexts``) and
a task's context is the merge of a list of those entries (``ctxs.in``), a list that grows by
one at each publishing transition of a chain. Every expression sees the whole workflow state
(``__state``), which YAQL converts in full at each evaluation, and the runner serializes it
at each step: a workflow that publishes a growing report (per-node progress) costs
quadratic memory and cubic time (a 2-node dry run took seconds, 32 nodes did not finish).

``compact_contexts`` folds the history: each context list that orquesta can still read
(staged tasks, tasks not completed yet, terminal tasks) is replaced by ``[0, m]``, where
entry ``m`` is the rest of that list (after the initial context 0) merged exactly as
orquesta merges it; entries nobody can read any
more are dropped and the indices renumbered. What every task and the workflow output see is
unchanged. Completed, non-terminal tasks keep only the initial context: their inputs were
rendered long ago (the run store keeps them); only orquesta's re-run-from-a-task, which
this runner does not offer, would have read them.
"""

import json
from typing import Any, Dict, List, Tuple

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta import statuses  # type: ignore  # noqa: E402
from orquesta.utils import dictionary as dict_util  # type: ignore  # noqa: E402


def _copy(value: Any) -> Any:
    """A deep copy of JSON data (contexts are JSON: orquesta serializes them the same way)."""
    return json.loads(json.dumps(value))


def _live_lists(state: Any) -> List[List[int]]:
    """The ``ctxs.in`` lists orquesta can still read (shared list objects listed once)."""
    seen: Dict[int, List[int]] = {}
    for entry in state.staged:
        seen.setdefault(id(entry["ctxs"]["in"]), entry["ctxs"]["in"])
    for entry in state.sequence:
        if entry.get("status") not in statuses.COMPLETED_STATUSES or entry.get("term"):
            seen.setdefault(id(entry["ctxs"]["in"]), entry["ctxs"]["in"])
    return list(seen.values())


def _merged(contexts: List[Dict[str, Any]], idxs: List[int]) -> Dict[str, Any]:
    """The context orquesta builds from ``idxs`` (``get_task_context``), as a fresh copy."""
    ctx: Dict[str, Any] = {}
    for idx in idxs:
        ctx = dict_util.merge_dicts(ctx, _copy(contexts[idx]), overwrite=True)
    return ctx


def compact_contexts(conductor: Any) -> Tuple[int, int]:
    """Fold the conductor's context history in place; (entries before, entries after).

    Does nothing when the state is not shaped as expected (another orquesta) or is small.
    """
    state: Any = getattr(conductor, "workflow_state", None)
    contexts = getattr(state, "contexts", None)
    if state is None or not isinstance(contexts, list) or len(contexts) <= 2:
        return (len(contexts or []), len(contexts or []))
    try:
        live = _live_lists(state)
    except (KeyError, TypeError, AttributeError):
        return (len(contexts), len(contexts))
    # Every list orquesta builds starts with the initial context 0 and holds it once; a
    # join extends its list with another branch's list minus that 0. Anything else: leave.
    if any(not idxs or idxs[0] != 0 or 0 in idxs[1:] for idxs in live):
        return (len(contexts), len(contexts))
    new_contexts: List[Dict[str, Any]] = [contexts[0]]
    folded: Dict[Tuple[int, ...], List[int]] = {(0,): [0]}
    for idxs in live:
        key = tuple(idxs)
        if key not in folded:
            # the rest is folded WITHOUT entry 0: merged after another branch's values
            # (join), the initial values must not come back over them
            new_contexts.append(_merged(contexts, idxs[1:]))
            folded[key] = [0, len(new_contexts) - 1]
        idxs[:] = folded[key]
    kept = {id(idxs) for idxs in live}
    for entry in state.sequence:
        if id(entry["ctxs"]["in"]) not in kept:
            entry["ctxs"] = {"in": [0]}
        else:
            entry["ctxs"].pop("out", None)
    before = len(contexts)
    contexts[:] = new_contexts
    return (before, len(contexts))
