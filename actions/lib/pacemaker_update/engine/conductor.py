"""The orquesta conductor with the runner's caches: composed graphs and their cycles.

orquesta composes a workflow's task graph (networkx) the first time a conductor needs it:
0.3 s for rolling_standby under orquesta 1.2.0, paid by every run and every subworkflow
run of the same workflow text. ``Conductor`` takes the graph from a cache instead: per
process, and on disk under ``graphs/<sha256>.json`` in the engine's cache directory (the
inspection cache's), keyed on the orquesta version and the serialized spec, so a changed
workflow is composed again. Each conductor gets its own graph object, deserialized from the
cached data (what a resumed conductor gets anyway), so nothing one run does reaches another.

``graph.in_cycle(task_id)`` enumerates every simple cycle of the graph on each call (once
per task transition); ``CycleMemoGraph`` enumerates them once per graph and forgets them
when the graph changes. The answers are orquesta's own.

orquesta also puts a deep copy of the whole workflow state (``__state``) into every context
it builds for expressions (a task's input, a transition's criteria and publishes, the
output), and copies those contexts again on the way. Expressions read ``__state`` only
through orquesta's own functions (``succeeded()``, ``task_status()``...: the task pointers,
routes and sequence; ``ctx('__state')`` is refused), and never write to it. ``Conductor``
hands them the live task pointers, routes and sequence instead (no copy, and without the
folded context history, which no function reads); a save serializes the state without
copying it first (``json.dumps`` only reads). The rest of orquesta's copies stay.
"""

import contextlib
import hashlib
import json
import os
from typing import Any, Dict, Iterator, List, Optional

from pacemaker_update.engine import compat

compat.apply_fixes()

import networkx as nx  # type: ignore  # noqa: E402
import orquesta  # type: ignore  # noqa: E402
from orquesta import conducting, graphing  # type: ignore  # noqa: E402

from pacemaker_update.engine.cachefile import read_cache_file, write_cache_file  # noqa: E402

_MUTATORS = ("add_task", "update_task", "add_transition", "update_transition", "set_barrier")


class CycleMemoGraph(graphing.WorkflowGraph):  # type: ignore[misc]
    """orquesta's WorkflowGraph whose cycle list is enumerated once, not at every call."""

    _cycles: Optional[List[List[str]]] = None
    version = 0  # bumped by every change: cached answers and texts follow it

    def in_cycle(self, task_id: str) -> List[List[str]]:
        """The simple cycles through ``task_id`` (orquesta's answer, memoized per graph)."""
        if self._cycles is None:
            self._cycles = [list(c) for c in nx.simple_cycles(self._graph)]
        return [list(c) for c in self._cycles if task_id in c]


def _forgetting(name: str) -> Any:
    method = getattr(graphing.WorkflowGraph, name)

    def mutate(self: CycleMemoGraph, *args: Any, **kwargs: Any) -> Any:
        self._cycles = None
        self.version += 1
        return method(self, *args, **kwargs)

    mutate.__name__ = name
    mutate.__doc__ = f"orquesta's {name}; the memoized cycles are recomputed after it."
    return mutate


for _name in _MUTATORS:
    if hasattr(graphing.WorkflowGraph, _name):
        setattr(CycleMemoGraph, _name, _forgetting(_name))


def memo_graph(graph: Any) -> Any:
    """``graph`` as a CycleMemoGraph sharing its networkx graph (no copy)."""
    if isinstance(graph, CycleMemoGraph) or not isinstance(graph, graphing.WorkflowGraph):
        return graph
    return CycleMemoGraph(graph=graph._graph)


_GRAPHS: Dict[str, Dict[str, Any]] = {}


def graph_key(spec: Any) -> str:
    """sha256 of the orquesta version and the serialized workflow spec."""
    head = json.dumps([getattr(orquesta, "__version__", "?"), spec.serialize()], sort_keys=True)
    return hashlib.sha256(head.encode("utf-8")).hexdigest()


def _read_graph(path: str, key: str) -> Optional[Dict[str, Any]]:
    data = read_cache_file(path, key)
    if data is None:
        return None
    try:
        graphing.WorkflowGraph.deserialize(data["graph"])  # unreadable: compose again
        return data["graph"]  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - any broken cache file only costs a compose
        return None


def composed_graph(spec: Any, composer: Any, cache_dir: Optional[str] = None) -> Any:
    """A fresh CycleMemoGraph of ``spec`` from the cache, composing it on a miss."""
    key = graph_key(spec)
    data = _GRAPHS.get(key)
    folder = os.path.join(cache_dir, "graphs") if cache_dir else None
    path = os.path.join(folder, key + ".json") if folder else None
    if data is None and path:
        data = _read_graph(path, key)
    if data is None:
        data = composer.compose(spec).serialize()
        if folder and path:
            write_cache_file(folder, path, {"key": key, "graph": data})
    _GRAPHS[key] = data
    return CycleMemoGraph.deserialize(data)


class Conductor(conducting.WorkflowConductor):  # type: ignore[misc]
    """orquesta's WorkflowConductor taking its graph from ``composed_graph``.

    Set ``cache_dir`` (class default: no disk cache) before the graph is first needed.
    """

    cache_dir: Optional[str] = None

    @property
    def graph(self) -> Any:
        """The workflow graph: cached composition, cycle answers memoized."""
        if not self._graph:  # type: ignore[has-type]
            self._graph = composed_graph(self.spec, self.composer, self.cache_dir)
        return self._graph

    _texts: Optional[Dict[str, Any]] = None

    @contextlib.contextmanager
    def _state_lent(self, with_contexts: bool) -> Iterator[None]:
        """``workflow_state.serialize()`` gives the live lists (no copy) inside the block.

        Only for readers: the ``__state`` of expression contexts (``with_contexts`` False:
        no function reads the context history) and ``json.dumps`` at a save.
        """
        state = self.workflow_state
        if type(state).serialize is not conducting.WorkflowState.serialize:
            yield  # another orquesta's state: its own serialize
            return

        def lent() -> Dict[str, Any]:
            data = {"routes": state.routes, "sequence": state.sequence,
                    "staged": state.staged, "status": state.status, "tasks": state.tasks}
            if with_contexts:
                data = {"contexts": state.contexts, **data}
            if state.reruns:
                data["reruns"] = state.reruns
            return data

        state.serialize = lent
        try:
            yield
        finally:
            del state.serialize

    def get_task(self, task_id: str, route: int) -> Dict[str, Any]:
        """orquesta's get_task, its ``__state`` lent rather than copied."""
        with self._state_lent(False):
            return super().get_task(task_id, route)  # type: ignore[no-any-return]

    def make_task_context(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """orquesta's make_task_context, its ``__state`` lent rather than copied."""
        with self._state_lent(False):
            return super().make_task_context(*args, **kwargs)  # type: ignore[no-any-return]

    def render_workflow_output(self) -> None:
        """orquesta's render_workflow_output, its ``__state`` lent rather than copied."""
        with self._state_lent(False):
            super().render_workflow_output()

    def serialize_json(self) -> str:
        """``json.dumps(self.serialize())``, the same text, without copying the state first
        and without re-encoding the spec and the graph at every save (a third of the text;
        neither changes during a run)."""
        with self._state_lent(True):
            data = self.serialize()
        graph = self.graph
        key = (id(self.spec), id(graph), getattr(graph, "version", None))
        if self._texts is None or self._texts["key"] != key:
            self._texts = {"key": key, "spec": json.dumps(data["spec"]),
                           "graph": json.dumps(data["graph"])}
        if list(data)[:2] != ["spec", "graph"]:
            return json.dumps(data)  # another orquesta's layout: no shortcut
        rest = json.dumps({k: v for k, v in data.items() if k not in ("spec", "graph")})
        head = '{"spec": ' + self._texts["spec"] + ', "graph": ' + self._texts["graph"]
        return head + (", " + rest[1:] if rest != "{}" else "}")

    def restore(self, graph: Any, *args: Any, **kwargs: Any) -> None:
        """orquesta's restore, with the graph's cycle answers memoized."""
        super().restore(memo_graph(graph), *args, **kwargs)
