"""st2's expression functions that the embedded runner provides (``st2kv``).

orquesta collects expression functions through the stevedore entry point
``orquesta.expressions.functions`` into one catalog, loaded once; st2's runner
adds its own functions by shipping entry points. Without st2 we add ours to
that same catalog (and to the YAQL root context, which copies it at import),
so expressions in the pack's workflows work unchanged.
"""

from typing import Any, Callable, Optional

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta.expressions.functions import base as func_base  # type: ignore  # noqa: E402

_kv_reader: Optional[Callable[[str], Any]] = None
_MISSING = object()


def set_kv_reader(reader: Optional[Callable[[str], Any]]) -> None:
    """Point ``st2kv`` at a key lookup (the run store's kv table)."""
    global _kv_reader
    _kv_reader = reader


def st2kv_(context: Any, key: str, decrypt: bool = False, default: Any = _MISSING) -> Any:
    """``st2kv('system.name')``: a value from the local key-value table.

    The ``system.`` / ``st2kv.system.`` prefixes st2 uses for the system scope are
    accepted; decryption does not apply (values are stored as given).
    """
    name = str(key)
    for prefix in ("st2kv.system.", "system."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    value = _kv_reader(name) if _kv_reader is not None else None
    if value is None:
        if default is not _MISSING:
            return default
        raise KeyError(f'The key "{key}" does not exist in the StackStorm datastore.')
    return value


def register_functions() -> None:
    """Add st2kv to orquesta's function catalog (idempotent)."""
    catalog = func_base.load()
    if "st2kv" in catalog:
        return
    catalog["st2kv"] = st2kv_
    import sys

    yql = sys.modules.get("orquesta.expressions.yql")
    if yql is not None:
        yql.YAQLEvaluator._root_ctx.register_function(st2kv_, name="st2kv")
    jinja = sys.modules.get("orquesta.expressions.jinja")
    if jinja is not None:
        jinja.JinjaEvaluator._jinja_env.filters["st2kv"] = st2kv_
