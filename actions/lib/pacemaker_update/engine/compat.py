"""Make orquesta 1.2.0 (and its networkx 1.11) import on Python 3.9-3.11.

The only orquesta on the package registry is 1.2.0 (2020); st2 itself ships
1.6.0 from git. 1.2.0 breaks on modern Pythons in three places, all outside
orquesta's logic (see shared/notes/orquesta.md):

1. networkx 1.11 does ``from fractions import gcd`` (removed in 3.9);
2. orquesta and networkx use ``collections.Mapping`` & co. (removed in 3.10);
3. ``orquesta.utils.parameters.REGEX_INLINE_PARAMS`` embeds ``(?i)true`` in the
   middle of a pattern, an error since 3.11 (a scoped ``(?i:true)`` means the same).

``apply_fixes()`` patches the running interpreter only (no file in site-packages
is touched), is idempotent, and skips every fix that is not needed (Python 3.8,
orquesta 1.6.0). It must run before the first orquesta import: the engine
package calls it on import.
"""

import collections
import collections.abc
import fractions
import math
import re
import sys
import warnings
from typing import List

_APPLIED: List[str] = []


def _fix_fractions_gcd() -> bool:
    if hasattr(fractions, "gcd"):
        return False
    fractions.gcd = math.gcd  # type: ignore[attr-defined]
    return True


def _fix_collections_aliases() -> bool:
    if sys.version_info < (3, 10):
        return False  # still there (deprecated); touching them only warns
    added = False
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
            added = True
    return added


def _import_networkx_without_numpy() -> bool:
    """Import networkx with its optional numpy left out (0.1-0.2 s of every CLI start).

    networkx 1.11 imports numpy at import time when it is installed, only for matrix and
    linear-algebra functions orquesta never calls. While networkx imports, ``import numpy``
    raises ImportError (networkx guards it); afterwards numpy imports normally for anyone.
    A networkx that cannot import this way is imported as usual.
    """
    if "networkx" in sys.modules or "numpy" in sys.modules:
        return False
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" -> ImportError
    try:
        import networkx  # type: ignore  # noqa: F401
    except ImportError:
        for name in [n for n in sys.modules if n == "networkx" or n.startswith("networkx.")]:
            del sys.modules[name]
        return False
    finally:
        if "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]
    return True


def _compiles_cleanly(pattern: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            re.compile(pattern)
        except (re.error, DeprecationWarning):
            return False
    return True


def _fix_inline_params_regex() -> bool:
    from orquesta.utils import parameters  # type: ignore[import-untyped]

    if _compiles_cleanly(parameters.REGEX_INLINE_PARAMS):
        return False
    for name in ("REGEX_TRUE", "REGEX_FALSE", "REGEX_INLINE_PARAMS"):
        value = getattr(parameters, name, None)
        if isinstance(value, str):
            fixed = re.sub(r"\(\?i\)(true|false)", r"(?i:\1)", value)
            setattr(parameters, name, fixed)
    variations = getattr(parameters, "REGEX_INLINE_PARAM_VARIATIONS", None)
    if isinstance(variations, list):
        variations[:] = [re.sub(r"\(\?i\)(true|false)", r"(?i:\1)", v) for v in variations]
    return True


def apply_fixes() -> List[str]:
    """Apply the needed compatibility fixes once; return the names of those applied.

    Why: orquesta 1.2.0 does not import on Python >= 3.9 otherwise, and patching
    the interpreter keeps the installed package pristine (st2 may share it).
    """
    if _APPLIED:
        return list(_APPLIED)
    if _fix_fractions_gcd():
        _APPLIED.append("fractions.gcd")
    if _fix_collections_aliases():
        _APPLIED.append("collections-abc-aliases")
    _import_networkx_without_numpy()  # before orquesta imports it (not a fix: a choice)
    from pacemaker_update.engine import yaqltables  # before orquesta builds its YAQL engine

    yaqltables.install()
    if _fix_inline_params_regex():
        _APPLIED.append("inline-params-regex")
    _APPLIED.append("checked")
    return list(_APPLIED)


def applied_fixes() -> List[str]:
    """Names of the fixes applied in this process (empty list before ``apply_fixes``)."""
    return [name for name in _APPLIED if name != "checked"]
