"""YAQL's parser tables, built once per grammar instead of at every process start.

orquesta builds its YAQL engine when it is imported, and YAQL's copy of PLY computes the
LALR tables of the YAQL grammar from scratch (yaql 3 writes no table module): 0.07-0.1 s of
every CLI start. ``install()`` makes PLY's ``LRTable`` take the action and goto tables from
the cache directory (``yaql-lalr/<sha256>.json``) when they were computed before for exactly
this grammar (every production with its precedence, the precedence table, the start symbol
and PLY's table version are in the key), and compute and store them otherwise. The parser
is PLY's own, fed the same tables.
"""

import hashlib
import os
from typing import Any, Dict, Optional

from pacemaker_update.engine.cachefile import read_cache_file, write_cache_file

_STATE: Dict[str, Any] = {}


def cache_folder() -> Optional[str]:
    """Where the tables are kept: the inspection cache's directory (see workflow.py)."""
    explicit = os.environ.get("PACEMAKER_UPDATE_CACHE_DIR")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(explicit or os.path.join(base, "pacemaker_update"), "yaql-lalr")


def grammar_key(grammar: Any, version: str) -> str:
    """sha256 of everything the LALR tables are computed from."""
    parts = [version, repr(grammar.Start), repr(sorted(grammar.Precedence.items()))]
    parts += ["{}|{}|{}".format(p.name, " ".join(p.prod), p.prec) for p in grammar.Productions
              if p is not None]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _read(path: str, key: str) -> Optional[Dict[str, Any]]:
    doc = read_cache_file(path, key)
    if doc is None:
        return None
    try:
        action = {int(s): {str(t): int(v) for t, v in row.items()}
                  for s, row in doc["action"].items()}
        goto = {int(s): {str(t): int(v) for t, v in row.items()} for s, row in doc["goto"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return {"action": action, "goto": goto}


def install() -> bool:
    """Give YAQL's PLY the cached LRTable (idempotent); False when PLY is not as expected."""
    if "original" in _STATE:
        return True
    try:
        from yaql._ply import yacc  # type: ignore
    except ImportError:
        return False
    original = getattr(yacc, "LRTable", None)
    version = str(getattr(yacc, "__tabversion__", "?"))
    if original is None or not hasattr(original, "lr_parse_table"):
        return False

    class CachedLRTable(original):  # type: ignore[misc, valid-type]
        """PLY's LRTable, its action and goto tables read from the cache when known."""

        def __init__(self, grammar: Any, log: Any = None) -> None:  # noqa: D107
            folder = cache_folder()
            key = grammar_key(grammar, version)
            path = os.path.join(folder, key + ".json") if folder else None
            tables = _read(path, key) if path else None
            if tables is None:
                super().__init__(grammar, log)
                if path and folder:
                    write_cache_file(folder, path, {"key": key, "action": self.lr_action,
                                          "goto": self.lr_goto})
                return
            self.__dict__.update(  # what PLY's __init__ leaves, the tables from the cache
                grammar=grammar, log=log, lr_action=tables["action"], lr_goto=tables["goto"],
                lr_productions=grammar.Productions, lr_goto_cache={}, lr0_cidhash={},
                _add_count=0, sr_conflict=0, rr_conflict=0, conflicts=[], sr_conflicts=[],
                rr_conflicts=[])

    _STATE["original"] = original
    yacc.LRTable = CachedLRTable
    return True


def uninstall() -> None:
    """PLY's own LRTable again (tests)."""
    original = _STATE.pop("original", None)
    if original is not None:
        from yaql._ply import yacc  # type: ignore

        yacc.LRTable = original
