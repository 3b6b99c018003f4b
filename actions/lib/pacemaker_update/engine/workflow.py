"""Loading and inspecting orquesta workflows, as st2's workflow service does.

``load_workflow`` = WorkflowSpec + ``inspect(app_ctx={st2 ctx})`` + the checks
st2 adds (every literal action reference exists and is runnable here, literal
inputs carry the required parameters and no unknown ones), recursively for
subworkflows, so a broken workflow is refused before anything runs.

orquesta's inspection costs seconds on the big workflows (1.2.0), and its answer depends
only on the workflow text, the orquesta version and the keys of the st2 context: it is
cached per process and, when a cache directory is given, on disk under
``inspected/<sha256>.json``, so ``pacemaker-update run`` does not re-inspect an unchanged
workflow every run. The engine's cache directory is the user's (``inspection_cache_dir``),
shared by every state directory: a run in a new state dir (a ticket's, a test's) no longer
pays the inspection again. A changed file has another key and is inspected again.
"""

import hashlib
import inspect
import json
import os
from typing import Any, Dict, List, Optional, Set

from pacemaker_update.engine import compat

compat.apply_fixes()

import orquesta  # type: ignore  # noqa: E402
import yaml  # noqa: E402
from orquesta.expressions import base as expr_base  # type: ignore  # noqa: E402
from orquesta.specs import base as spec_base  # type: ignore  # noqa: E402
from orquesta.specs.native import WorkflowSpec  # type: ignore  # noqa: E402

from pacemaker_update.engine import specschemas  # noqa: E402
from pacemaker_update.engine.cachefile import read_cache_file, write_cache_file  # noqa: E402
from pacemaker_update.engine.registry import ActionRegistry, ActionSpec  # noqa: E402
from pacemaker_update.engine.yamlcache import load_yaml  # noqa: E402
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError  # noqa: E402

specschemas.install()


def make_st2_context(
    run_id: str, spec: ActionSpec, user: str, pack: str, parent_id: Optional[str] = None
) -> Dict[str, Any]:
    """The ``ctx(st2)`` a workflow sees under st2 (what this runner can honour)."""
    st2 = {
        "action_execution_id": run_id,
        "workflow_execution_id": run_id,
        "user": user,
        "pack": pack,
        "action": spec.ref,
        "runner": "orquesta",
        "api_url": None,
    }
    ctx: Dict[str, Any] = {"st2": st2}
    if parent_id:
        ctx["parent"] = {"execution_id": parent_id}
    return ctx


def read_workflow_text(registry: ActionRegistry, spec: ActionSpec) -> str:
    """The YAML text of an orquesta action's entry point."""
    with open(registry.entry_path(spec)) as handle:
        return handle.read()


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and any(
        ev.has_expressions(value) for ev in expr_base.get_evaluators().values()
    )


_CHECKED: Dict[int, Any] = {}  # id(wf_spec) -> (wf_spec, registry, problems)


def _check_tasks(wf_spec: Any, registry: ActionRegistry) -> List[str]:
    """st2's checks of a workflow's literal action references, once per spec and registry
    (a parsed spec is kept per text, see ``parse_workflow``; both are held here, so the
    ids cannot be reused by other objects)."""
    kept = _CHECKED.get(id(wf_spec))
    if kept is not None and kept[0] is wf_spec and kept[1] is registry:
        return list(kept[2])
    errors = _task_problems(wf_spec, registry)
    _CHECKED[id(wf_spec)] = (wf_spec, registry, list(errors))
    return errors


def _task_problems(wf_spec: Any, registry: ActionRegistry) -> List[str]:
    errors: List[str] = []
    for name, task in wf_spec.tasks.items():
        ref = getattr(task, "action", None)
        if not ref or _is_expression(ref):
            continue
        try:
            action = registry.resolve(ref)
        except PacemakerUpdateError as exc:
            errors.append(f"task {name}: {exc.message}")
            continue
        given = getattr(task, "input", None) or {}
        if not isinstance(given, dict):
            continue
        unknown = sorted(set(given) - set(action.parameters))
        missing = sorted(
            n
            for n, p in action.parameters.items()
            if (p or {}).get("required") and "default" not in (p or {}) and n not in given
        )
        errors += [f'task {name}: action "{ref}" has unexpected input "{u}"' for u in unknown]
        errors += [f'task {name}: action "{ref}" is missing required input "{m}"' for m in missing]
    return errors


_INSPECTED: Dict[str, List[str]] = {}


def inspection_key(text: str, st2_ctx: Dict[str, Any]) -> str:
    """sha256 of the orquesta version, the context's key structure and the exact text."""
    shape = {k: sorted(v) if isinstance(v, dict) else None for k, v in st2_ctx.items()}
    head = json.dumps([getattr(orquesta, "__version__", "?"), shape], sort_keys=True)
    return hashlib.sha256((head + "\0" + text).encode("utf-8")).hexdigest()


def inspection_cache_dir(fallback: str) -> str:
    """$PACEMAKER_UPDATE_CACHE_DIR, else $XDG_CACHE_HOME/pacemaker_update, else
    ~/.cache/pacemaker_update; ``fallback`` (the state dir) when none can be created."""
    explicit = os.environ.get("PACEMAKER_UPDATE_CACHE_DIR")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = explicit or os.path.join(base, "pacemaker_update")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return fallback
    return folder if os.access(folder, os.W_OK) else fallback


def _read_cached(path: str, key: str) -> Optional[List[str]]:
    data = read_cache_file(path, key)
    if data is None:
        return None
    problems = data.get("problems")
    return problems if isinstance(problems, list) else None


def inspect_text(
    wf_spec: Any, text: str, st2_ctx: Dict[str, Any], cache_dir: Optional[str] = None
) -> List[str]:
    """orquesta's inspection problems of ``text`` (as "category: message"), cached by key."""
    key = inspection_key(text, st2_ctx)
    if key in _INSPECTED:
        return list(_INSPECTED[key])
    folder = os.path.join(cache_dir, "inspected") if cache_dir else None
    path = os.path.join(folder, key + ".json") if folder else None
    problems = _read_cached(path, key) if path else None
    if problems is None:
        result = wf_spec.inspect(app_ctx=st2_ctx, raise_exception=False)
        problems = [
            "{}: {}".format(cat, e.get("message"))
            for cat, entries in result.items()
            for e in entries
        ]
        if folder and path:
            write_cache_file(folder, path, {"key": key, "problems": problems})
    _INSPECTED[key] = list(problems)
    return problems


_PARSED: Dict[str, Any] = {}


def parse_workflow(text: str, cache_dir: Optional[str] = None) -> Any:
    """The WorkflowSpec of a workflow text, parsed once per process per exact text.

    Parsing validates the YAML against orquesta's schemas (about 0.2 s for the big
    workflows); a run loads every workflow it may call several times (prepare, start, each
    subworkflow). The conductor never changes its spec (tasks are copied to render).
    """
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _PARSED:
        _PARSED[key] = WorkflowSpec(_preparsed(text, cache_dir))
    return _PARSED[key]


def _plain_safe_load() -> bool:
    """Whether orquesta reads a spec text with plain ``yaml.safe_load`` (1.2.0 does)."""
    try:
        source = inspect.getsource(spec_base.Spec.__init__)
    except (OSError, TypeError):
        return False
    return "yaml.safe_load(spec)" in source and spec_base.yaml is yaml


def _preparsed(text: str, cache_dir: Optional[str] = None) -> Any:
    """The text as orquesta would load it, through libyaml when that gives the same data.

    orquesta parses with pure-Python PyYAML (60 % of loading the pack's workflows at each
    CLI start); the C parser gives the same mapping. Any other orquesta reader (one that
    refuses duplicate keys, say) gets the text itself.
    """
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or not _plain_safe_load():
        return text
    try:
        data = load_yaml(text, loader, cache_dir)  # libyaml's answer, kept per text
    except yaml.YAMLError:
        return text  # orquesta reports it in its own words
    return data if isinstance(data, dict) else text


def load_workflow(
    registry: ActionRegistry,
    spec: ActionSpec,
    st2_ctx: Dict[str, Any],
    seen: Optional[Set[str]] = None,
    cache_dir: Optional[str] = None,
) -> Any:
    """A WorkflowSpec inspected like st2 does; ``InvalidInputError`` listing every problem.

    ``cache_dir`` (the engine's state dir) keeps inspection answers across runs.
    """
    seen = set() if seen is None else seen
    seen.add(spec.ref)
    text = read_workflow_text(registry, spec)
    wf_spec = parse_workflow(text, cache_dir)
    problems = inspect_text(wf_spec, text, st2_ctx, cache_dir)
    problems += _check_tasks(wf_spec, registry)
    for task in wf_spec.tasks.values():
        ref = getattr(task, "action", None)
        if not ref or _is_expression(ref):
            continue
        try:
            child = registry.resolve(ref)
        except PacemakerUpdateError:
            continue
        if child.runner_type == "orquesta" and child.ref not in seen:
            try:
                load_workflow(registry, child, st2_ctx, seen, cache_dir)
            except InvalidInputError as exc:
                problems.append(f"subworkflow {child.ref}: {exc.message}")
    if problems:
        raise InvalidInputError(
            "Workflow {} is invalid: {}".format(spec.ref, "; ".join(problems)),
            code="WORKFLOW_INVALID",
            details={"workflow": spec.ref, "errors": problems},
        )
    return wf_spec
