"""orquesta's spec schemas memoized per class (engine/specschemas.py) give orquesta's answers."""

from typing import Any, List, Tuple

import pytest
from pacemaker_update.engine import compat, specschemas
from test_engine_caches import _texts

compat.apply_fixes()

from orquesta.specs import base as spec_base  # type: ignore  # noqa: E402
from orquesta.specs import native  # type: ignore  # noqa: E402

ST2 = {"st2": {"action_execution_id": "x", "user": "u", "pack": "p"}}


def _spec_classes() -> List[Any]:
    found, todo = [], [spec_base.Spec]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _answer(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - orquesta's error is part of its answer
        return (type(exc).__name__, str(exc))


def _answers(text: str) -> Tuple[Any, ...]:
    spec = native.WorkflowSpec(text)
    tasks = [spec.tasks.get_task(name).copy().serialize() for name in sorted(spec.tasks.keys())]
    schemas = [(c.__module__, c.__name__, _answer(c.get_schema),
                _answer(lambda c=c: c.get_schema(includes=None, resolve_specs=False)),
                _answer(c.get_meta_schema)) for c in _spec_classes()]
    return (spec.serialize(), spec.inspect(app_ctx=ST2, raise_exception=False), tasks, schemas)


@pytest.mark.parametrize("name,text", _texts())
def test_memoized_schemas_give_orquestas_specs_and_inspection(name: str, text: str) -> None:
    specschemas.uninstall()
    try:
        bare = _answers(text)
    finally:
        specschemas.install()
    assert _answers(text) == bare
    assert _answers(text) == bare  # from the cache this time


def test_each_caller_gets_its_own_copy() -> None:
    first = native.WorkflowSpec.get_schema()
    first["properties"].clear()  # a caller changing its schema changes nobody else's
    assert native.WorkflowSpec.get_schema()["properties"]
    meta = native.WorkflowSpec.get_meta_schema()
    meta.clear()
    assert native.WorkflowSpec.get_meta_schema()
