"""The embedded orquesta runner: runs the pack's workflows without StackStorm.

Imported by the CLI and tests, never by actions. ``compat.apply_fixes()`` runs
first so orquesta 1.2.0 imports on Python 3.9-3.11.

Public API::

    from pacemaker_update.engine import Engine
    engine = Engine(pack_dir=None, state_dir=None, config={}, on_event=callback,
                    auto_approve=False, prompt=None)
    result = engine.start("update_cluster", {"cluster": "lab"})   # RunResult
    engine.resume(run_id, respond={"approved": True})
    engine.request_pause(run_id); engine.request_cancel(run_id)
    engine.store.get_run(run_id); engine.store.list_tasks(run_id)
"""

from pacemaker_update.engine import compat

compat.apply_fixes()

from pacemaker_update.engine.engine import Engine, default_pack_dir  # noqa: E402
from pacemaker_update.engine.progress import ProgressEvent  # noqa: E402
from pacemaker_update.engine.result import RunResult, exit_code_for  # noqa: E402
from pacemaker_update.engine.store import RunStore, default_state_dir  # noqa: E402

__all__ = [
    "Engine",
    "ProgressEvent",
    "RunResult",
    "RunStore",
    "default_pack_dir",
    "default_state_dir",
    "exit_code_for",
]
