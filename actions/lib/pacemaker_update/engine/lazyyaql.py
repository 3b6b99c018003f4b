"""YAQL sees the workflow context converted on demand, not copied whole per expression.

orquesta hands every YAQL expression the task's whole context, ``__state`` (the workflow
state: every task entry, route and context) included, and YAQL's ``convert_input_data``
turns all of it into hashable tuples and FrozenDicts before evaluating, even for
``<% succeeded() %>``. That conversion was a third of the runner's time on a 2-node dry run
and grows with the run. ``install()`` makes orquesta's YAQL evaluator convert a mapping
only when an expression reads into it: ``LazyFrozenDict`` is a yaql ``FrozenDict`` whose
values are converted (once, memoized) when first read; sequences, sets and scalars are
converted exactly as YAQL does. Whatever an expression reads is the value YAQL's eager
conversion would give, so results are unchanged; the context is not mutated during an
evaluation, and results leave YAQL converted back to plain data.
"""

from typing import Any, Dict, Iterator, Optional

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta.expressions import yql  # type: ignore  # noqa: E402
from yaql.language import utils as yaql_utils  # type: ignore  # noqa: E402


def convert_lazily(obj: Any, rec: Any = None) -> Any:
    """YAQL's ``convert_input_data``, except that dicts with string keys convert on read."""
    if isinstance(obj, dict) and all(isinstance(key, str) for key in obj):
        return LazyFrozenDict(obj)
    return yaql_utils.convert_input_data(obj, convert_lazily)


class LazyFrozenDict(yaql_utils.FrozenDict):  # type: ignore[misc]
    """A read-only view of a dict, its values converted for YAQL when first read."""

    def __init__(self, raw: Dict[str, Any]) -> None:  # noqa: D107 - see the class
        self._raw = raw
        self._d: Dict[str, Any] = {}
        self._hash: Optional[int] = None

    def __getitem__(self, key: Any) -> Any:
        if key in self._d:
            return self._d[key]
        value = convert_lazily(self._raw[key])
        self._d[key] = value
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        """The converted value of ``key``, or ``default``."""
        return self[key] if key in self._raw else default

    def __contains__(self, key: Any) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return repr({key: self[key] for key in self._raw})


def _contextualize(cls: Any, data: Any) -> Any:
    # orquesta 1.2.0-1.6.0 YAQLEvaluator.contextualize, with the lazy conversion
    ctx = cls._root_ctx.create_child_context()
    if isinstance(data, (yaql_utils.SequenceType, yaql_utils.MappingType)):
        ctx["__vars"] = convert_lazily(data)
    else:
        ctx["__vars"] = data or {}
    ctx["__state"] = ctx["__vars"].get("__state")
    ctx["__current_task"] = ctx["__vars"].get("__current_task")
    ctx["__current_item"] = ctx["__vars"].get("__current_item")
    return ctx


_ORIGINAL: Dict[str, Any] = {}


def install() -> None:
    """Make orquesta's YAQL evaluator convert contexts lazily (idempotent)."""
    if "contextualize" not in _ORIGINAL:
        _ORIGINAL["contextualize"] = yql.YAQLEvaluator.__dict__["contextualize"]
        yql.YAQLEvaluator.contextualize = classmethod(_contextualize)


def uninstall() -> None:
    """Restore orquesta's own (eager) conversion; for tests comparing both."""
    original = _ORIGINAL.pop("contextualize", None)
    if original is not None:
        yql.YAQLEvaluator.contextualize = original
