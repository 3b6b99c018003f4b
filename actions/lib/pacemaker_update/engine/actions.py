"""Running one action the way st2's runners would, with st2's result shapes.

python-script: import the entry point with the pack's ``actions/lib`` on
sys.path, instantiate its Action subclass with the pack config and call
``run(**params)``. ``(ok, data)`` sets success; anything else succeeds with the
value as result; an exception fails with the traceback in stderr. The result
is ``{result, stdout, stderr, exit_code}`` as st2 gives it to workflows.
core.noop / core.echo are answered inline with st2's shapes.
"""

import importlib.util
import inspect
import io
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from pacemaker_update.engine.registry import ActionRegistry, ActionSpec

LineSink = Callable[[str, str], None]
_local = threading.local()
_install_lock = threading.Lock()
_modules: Dict[str, Any] = {}


class _ThreadStream(io.TextIOBase):
    """sys.stdout/err stand-in that sends a worker thread's output to its own buffer."""

    def __init__(self, name: str, real: Any) -> None:
        super().__init__()
        self.name_ = name
        self.real = real

    def write(self, text: str) -> int:  # type: ignore[override]
        capture = getattr(_local, "capture", None)
        if capture is None:
            return int(self.real.write(text))
        capture.write(self.name_, text)
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "capture", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        return False if getattr(_local, "capture", None) is not None else self.real.isatty()


class _Capture:
    def __init__(self, sink: Optional[LineSink]) -> None:
        self.parts = {"stdout": io.StringIO(), "stderr": io.StringIO()}
        self.pending = {"stdout": "", "stderr": ""}
        self.sink = sink

    def write(self, stream: str, text: str) -> None:
        self.parts[stream].write(text)
        if self.sink is None:
            return
        lines = (self.pending[stream] + text).split("\n")
        self.pending[stream] = lines.pop()
        for line in lines:
            self.sink(stream, line)

    def value(self, stream: str) -> str:
        return self.parts[stream].getvalue()


def install_capture() -> None:
    """Route sys.stdout/err through per-thread buffers (idempotent, process-wide)."""
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadStream):
            sys.stdout = _ThreadStream("stdout", sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _ThreadStream):
            sys.stderr = _ThreadStream("stderr", sys.stderr)  # type: ignore[assignment]


class KeyValuePair:
    """What st2's ``list_values`` returns per key: full ``name`` and ``value``."""

    def __init__(self, name: str, value: Any, scope: str = "system") -> None:
        self.name, self.value, self.scope = name, value, scope

    def __repr__(self) -> str:
        return f"KeyValuePair(name={self.name!r})"


class ActionService:
    """The datastore part of st2's ``action_service``, backed by the run store's kv table."""

    def __init__(
        self,
        kv_get: Callable[[str], Any],
        kv_set: Callable[[str, Any], None],
        kv_delete: Callable[[str], bool],
        pack: str,
        kv_list: Optional[Callable[[str], Dict[str, Any]]] = None,
    ) -> None:
        self._get, self._set, self._delete, self._pack = kv_get, kv_set, kv_delete, pack
        self._list = kv_list

    def list_values(self, local: bool = True, prefix: Optional[str] = None) -> List[KeyValuePair]:
        """Keys (full names, ``pack:`` included when local) and values, sorted, as st2's.

        ``prefix`` is matched literally after the pack's own prefix when ``local``.
        """
        if self._list is None:
            return []
        head = self._key(prefix or "", local)
        return [KeyValuePair(k, v) for k, v in sorted(self._list(head).items())]

    def _key(self, name: str, local: bool) -> str:
        return f"{self._pack}:{name}" if local else name

    def get_value(
        self, name: str, local: bool = True, scope: str = "system", decrypt: bool = False
    ) -> Any:
        """Value of a datastore key (``None`` when absent), as st2's ActionService."""
        return self._get(self._key(name, local))

    def set_value(
        self,
        name: str,
        value: Any,
        ttl: Optional[int] = None,
        local: bool = True,
        scope: str = "system",
        encrypt: bool = False,
    ) -> bool:
        """Store a datastore value (ttl ignored), as st2's ActionService."""
        self._set(self._key(name, local), value)
        return True

    def delete_value(self, name: str, local: bool = True, scope: str = "system") -> bool:
        """Delete a datastore key, as st2's ActionService."""
        return self._delete(self._key(name, local))


def st2_core_result(ref: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    """Result of core.noop / core.echo in st2's shapes."""
    if ref == "core.echo":
        return {
            "stdout": str(params.get("message", "")),
            "stderr": "",
            "return_code": 0,
            "succeeded": True,
            "failed": False,
        }
    return {"failed": False, "succeeded": True, "return_code": 0}


def _load_action_class(path: str, lib_dir: str) -> Any:
    cls = _modules.get(path)
    if cls is not None:
        return cls
    if lib_dir not in sys.path:
        sys.path.insert(0, lib_dir)
    mod_name = "_pu_action_{}_{}".format(len(_modules), path.rsplit("/", 1)[-1][:-3])
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    candidates = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and obj.__module__ == mod_name
        and callable(getattr(obj, "run", None))
        and any(b.__name__ == "Action" for b in obj.__mro__[1:])
    ]
    if len(candidates) != 1:
        raise ImportError(
            f"{path} must define exactly one Action subclass (found {len(candidates)})"
        )
    _modules[path] = candidates[0]
    return candidates[0]


def _instantiate(cls: Any, config: Mapping[str, Any], service: Optional[ActionService]) -> Any:
    try:
        accepted = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        accepted = {}  # type: ignore[assignment]
    if "action_service" in accepted:
        return cls(config=dict(config), action_service=service)
    instance = cls(config=dict(config))
    if getattr(instance, "action_service", None) is None:
        instance.action_service = service
    return instance


def run_python_action(
    registry: ActionRegistry,
    spec: ActionSpec,
    params: Mapping[str, Any],
    config: Mapping[str, Any],
    service: Optional[ActionService] = None,
    sink: Optional[LineSink] = None,
) -> Tuple[bool, Dict[str, Any], float]:
    """Run a python-script action; returns (succeeded, st2-shaped result, seconds inside)."""
    install_capture()
    capture = _Capture(sink)
    _local.capture = capture
    start = time.monotonic()
    ok, value, exit_code = False, None, 0  # type: bool, Any, int
    try:
        cls = _load_action_class(registry.entry_path(spec), str(registry.actions_dir) + "/lib")
        instance = _instantiate(cls, config, service)
        outcome = instance.run(**params)
        if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], bool):
            ok, value = outcome
        else:
            ok, value = True, outcome
    except Exception:  # noqa: BLE001 - an action's crash is data: failed + traceback
        capture.write("stderr", traceback.format_exc())
        ok, value, exit_code = False, None, 1
    finally:
        elapsed = time.monotonic() - start
        _local.capture = None
    result = {
        "result": value,
        "stdout": capture.value("stdout"),
        "stderr": capture.value("stderr"),
        "exit_code": exit_code,
    }
    return ok, result, elapsed
