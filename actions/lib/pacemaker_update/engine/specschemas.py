"""orquesta's spec schemas, computed once per spec class instead of once per spec object.

Every orquesta ``Spec`` object (a workflow, each task, each transition...) asks its class
for its schema and meta schema in ``__init__``; orquesta computes them again each time by
merging the schemas of every base class, deep-copying at each merge. That was most of the
time to parse the pack's workflows at every CLI start, and of every task the conductor
renders (``get_task`` copies the task spec through ``deserialize``). The answer depends only
on the class and the arguments: ``install()`` keeps it per class and hands out a deep copy
(a fresh object, as before, that the caller may change).
"""

import copy
import threading
from typing import Any, Dict, Tuple

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta.specs import base as spec_base  # type: ignore  # noqa: E402

_CACHE: Dict[Tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()
_ORIGINAL: Dict[str, Any] = {}


def _memo(key: Tuple[Any, ...], compute: Any) -> Any:
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        hit = compute()
        with _LOCK:
            _CACHE.setdefault(key, copy.deepcopy(hit))
        return hit
    return copy.deepcopy(hit)


def _get_meta_schema(cls: Any) -> Any:
    return _memo((cls, "meta"), lambda: _ORIGINAL["meta"](cls))


def _get_schema(cls: Any, includes: Any = ["meta"], resolve_specs: bool = True) -> Any:  # noqa: B006 - orquesta's signature
    key = (cls, "schema", tuple(includes) if includes else None, bool(resolve_specs))
    return _memo(key, lambda: _ORIGINAL["schema"](cls, includes=includes,
                                                  resolve_specs=resolve_specs))


def install() -> None:
    """Memoize ``Spec.get_schema`` / ``Spec.get_meta_schema`` per class (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL["meta"] = spec_base.Spec.__dict__["get_meta_schema"].__func__
    _ORIGINAL["schema"] = spec_base.Spec.__dict__["get_schema"].__func__
    spec_base.Spec.get_meta_schema = classmethod(_get_meta_schema)
    spec_base.Spec.get_schema = classmethod(_get_schema)


def uninstall() -> None:
    """orquesta's own computation again (tests comparing both)."""
    if not _ORIGINAL:
        return
    spec_base.Spec.get_meta_schema = classmethod(_ORIGINAL.pop("meta"))
    spec_base.Spec.get_schema = classmethod(_ORIGINAL.pop("schema"))
    _CACHE.clear()
