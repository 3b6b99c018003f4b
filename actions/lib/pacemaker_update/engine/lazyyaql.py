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

That way back (YAQL's ``#finalize``: ``convert_output_data``) calls the ``#iter`` limiter
through YAQL's overload resolution for every list and dict of a result; with no iterator
limit set (orquesta sets none, the limiter then returns its argument) ``_finalize`` does
the same conversion directly, and copies a lazy view's untouched raw data in one pass.
"""

from typing import Any, Dict, Iterator, Optional

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta.expressions import yql  # type: ignore  # noqa: E402
from orquesta.expressions.functions import common as common_functions  # type: ignore  # noqa: E402
from yaql.language import specs, yaqltypes  # type: ignore  # noqa: E402
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


def _raw_output(value: Any, tuples_to_lists: bool) -> Any:
    # = convert_output_data(convert_lazily(value)) for JSON-shaped data, in one pass
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {k: _raw_output(v, tuples_to_lists) for k, v in value.items()}
    if isinstance(value, list) and tuples_to_lists:
        return [_raw_output(v, tuples_to_lists) for v in value]
    return _output(convert_lazily(value), False, tuples_to_lists)


def _output(obj: Any, sets_to_lists: bool, tuples_to_lists: bool) -> Any:
    """YAQL's ``convert_output_data`` with the identity limiter."""
    if isinstance(obj, LazyFrozenDict):
        return _raw_output(obj._raw, tuples_to_lists)
    if isinstance(obj, yaql_utils.MappingType):
        return {
            _output(k, sets_to_lists, tuples_to_lists): _output(v, sets_to_lists, tuples_to_lists)
            for k, v in obj.items()
        }
    if isinstance(obj, yaql_utils.SetType):
        set_type = list if sets_to_lists else set
        return set_type(_output(t, sets_to_lists, tuples_to_lists) for t in obj)
    if isinstance(obj, (tuple, list)):
        seq_type = list if tuples_to_lists else type(obj)
        return seq_type(_output(t, sets_to_lists, tuples_to_lists) for t in obj)
    if yaql_utils.is_iterable(obj):
        return list(_output(t, sets_to_lists, tuples_to_lists) for t in obj)
    return obj


@specs.inject("limiter", yaqltypes.Delegate("#iter"))
@specs.inject("engine", yaqltypes.Engine())
@specs.name("#finalize")
def _finalize(obj: Any, limiter: Any, engine: Any) -> Any:
    if not engine.options.get("yaql.convertOutputData", True):
        return obj
    if yaql_utils.get_max_collection_size(engine) >= 0:  # a limit: YAQL's own way
        return yaql_utils.convert_output_data(obj, limiter, engine)
    return _output(
        obj,
        yaql_utils.convert_sets_to_lists(engine),
        yaql_utils.convert_tuples_to_lists(engine),
    )


def _ctx(context: Any, key: Optional[str] = None) -> Any:
    # orquesta's ctx() copies every variable out of the context to return the one an
    # expression reads (``ctx().progress``): with a lazy view that converted all of them, at
    # every expression. Here ``ctx()`` is a lazy view too; ``ctx(name)`` is orquesta's own.
    variables = context["__vars"]
    if key or not isinstance(variables, LazyFrozenDict):
        return common_functions.ctx_(context, key)
    return LazyFrozenDict({k: v for k, v in variables._raw.items() if not k.startswith("__")})


_LAZY_ROOT: Dict[str, Any] = {}


def _contextualize(cls: Any, data: Any) -> Any:
    # orquesta 1.2.0-1.6.0 YAQLEvaluator.contextualize, with the lazy conversion
    root = _LAZY_ROOT.get("ctx")
    if root is None:  # orquesta's root context (its functions, st2kv) + our #finalize
        root = cls._root_ctx.create_child_context()
        root.register_function(_finalize, exclusive=True)
        root.register_function(_ctx, name="ctx", exclusive=True)
        _LAZY_ROOT["ctx"] = root
    ctx = root.create_child_context()
    if isinstance(data, (yaql_utils.SequenceType, yaql_utils.MappingType)):
        ctx["__vars"] = convert_lazily(data)
    else:
        ctx["__vars"] = data or {}
    ctx["__state"] = ctx["__vars"].get("__state")
    ctx["__current_task"] = ctx["__vars"].get("__current_task")
    ctx["__current_item"] = ctx["__vars"].get("__current_item")
    return ctx


class ParsedEngine:
    """orquesta's YAQL engine, each expression text parsed once per process.

    orquesta parses an expression at every evaluation (a quarter of YAQL's time on a
    dry run); a parsed statement holds no evaluation state and is evaluated again as it is.
    Texts that do not parse are not kept (they raise at every call, as before).
    """

    LIMIT = 4096  # distinct texts kept (a workflow has a few hundred)

    def __init__(self, engine: Any) -> None:  # noqa: D107 - see the class
        self.engine = engine
        self.parsed: Dict[str, Any] = {}

    def __call__(self, expression: str, options: Any = None) -> Any:
        if options:
            return self.engine(expression, options)
        statement = self.parsed.get(expression)
        if statement is None:
            statement = self.engine(expression)
            if len(self.parsed) < self.LIMIT:
                self.parsed[expression] = statement
        return statement

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


_ORIGINAL: Dict[str, Any] = {}


def install() -> None:
    """Make orquesta's YAQL evaluator convert contexts lazily and parse each text once
    (idempotent)."""
    if "contextualize" not in _ORIGINAL:
        _ORIGINAL["contextualize"] = yql.YAQLEvaluator.__dict__["contextualize"]
        yql.YAQLEvaluator.contextualize = classmethod(_contextualize)
    if "engine" not in _ORIGINAL:
        _ORIGINAL["engine"] = yql.YAQLEvaluator.__dict__["_engine"]
        yql.YAQLEvaluator._engine = ParsedEngine(_ORIGINAL["engine"])


def uninstall() -> None:
    """Restore orquesta's own (eager) conversion and parsing; for tests comparing both."""
    original = _ORIGINAL.pop("contextualize", None)
    if original is not None:
        yql.YAQLEvaluator.contextualize = original
    engine = _ORIGINAL.pop("engine", None)
    if engine is not None:
        yql.YAQLEvaluator._engine = engine
