"""Load a python action of the pack as its class, as st2's python runner imports it."""

import functools
import importlib.util
import inspect
from pathlib import Path
from typing import Any

from pacemaker_update.st2compat import Action

ACTIONS = Path(__file__).resolve().parents[2] / "actions"


@functools.lru_cache(maxsize=None)
def action_class(name: str) -> Any:
    """The Action subclass defined in actions/<name>.py (imported once per test process)."""
    spec = importlib.util.spec_from_file_location(f"pack_action_{name}", ACTIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Action) and c.__module__ == module.__name__][0]
