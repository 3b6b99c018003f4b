"""The embedded runner's public face: start, resume, pause and cancel runs.

    engine = Engine(pack_dir, state_dir=..., config={...}, on_event=print)
    result = engine.start("update_cluster", {"cluster": "lab"})
    result.status, result.exit_code, result.output

A run is driven in the calling process (``RunDriver``); other processes talk to
it through the store (request flag, status, tasks).
"""

import getpass
import json
import os
import signal
import threading
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pacemaker_update.engine import compat, functions

compat.apply_fixes()

from orquesta import statuses  # type: ignore  # noqa: E402

from pacemaker_update.engine import clusterlock, inquiry, lazyyaql  # noqa: E402
from pacemaker_update.engine.actions import ActionService  # noqa: E402
from pacemaker_update.engine.conductor import Conductor  # noqa: E402
from pacemaker_update.engine.control import FINAL, request_run  # noqa: E402
from pacemaker_update.engine.driver import RunDriver  # noqa: E402
from pacemaker_update.engine.masking import Masker  # noqa: E402
from pacemaker_update.engine.params import mask_values  # noqa: E402
from pacemaker_update.engine.progress import EventSink, ProgressEvent, ignore_event  # noqa: E402
from pacemaker_update.engine.registry import ActionRegistry, ActionSpec  # noqa: E402
from pacemaker_update.engine.result import RunResult, compute_timing  # noqa: E402
from pacemaker_update.engine.store import RunStore, process_start_time  # noqa: E402
from pacemaker_update.engine.workflow import (  # noqa: E402
    inspection_cache_dir,
    load_workflow,
    make_st2_context,
)
from pacemaker_update.errors import InvalidInputError, RunStateError  # noqa: E402


def default_pack_dir() -> str:
    """The pack this library is installed from (three levels above actions/lib/pacemaker_update)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(os.path.join(here, "..", "..", "..", ".."))


class Engine:
    """Runs the pack's orquesta workflows without StackStorm."""

    def __init__(
        self,
        pack_dir: Optional[str] = None,
        state_dir: Optional[str] = None,
        config: Optional[Mapping[str, Any]] = None,
        on_event: Optional[EventSink] = None,
        user: Optional[str] = None,
        auto_approve: bool = False,
        prompt: Optional[inquiry.Prompt] = None,
        poll_interval: float = 0.2,
        max_workers: int = 8,
    ) -> None:
        self.store = RunStore(state_dir)
        self.state_dir = self.store.state_dir
        self.cache_dir = inspection_cache_dir(self.state_dir)
        self.registry = ActionRegistry(pack_dir or default_pack_dir(), self.cache_dir)
        self.config: Dict[str, Any] = dict(config or {})
        self.on_event = on_event or ignore_event
        self.user = user or getpass.getuser()
        self.auto_approve, self.prompt = auto_approve, prompt
        self.poll_interval, self.max_workers = poll_interval, max_workers
        self.stop_event = threading.Event()
        self.stop_signal: Optional[int] = None  # the signal that set stop_event, if any
        self.pending_response: Optional[Dict[str, Any]] = None
        self._emit_lock = threading.Lock()
        self.results: Dict[str, Tuple[str, Dict[str, Any]]] = {}
        self._prepared: Dict[Optional[str], Tuple[ActionSpec, str]] = {}
        functions.register_functions()
        lazyyaql.install()
        functions.set_kv_reader(self._kv_reader)

    # -- services used by drivers ---------------------------------------------
    def _kv_reader(self, key: str) -> Any:
        store = RunStore(self.state_dir)  # any thread may evaluate expressions
        try:
            return store.kv_get(key)
        finally:
            store.close()

    def action_service(self) -> ActionService:
        """A datastore service for a python action (own connection: worker thread)."""
        store = RunStore(self.state_dir)
        return ActionService(
            store.kv_get, store.kv_set, store.kv_delete, self.registry.pack_ref, store.kv_list
        )

    def emit(self, event: ProgressEvent) -> None:
        """Deliver a progress event to the sink, one at a time."""
        with self._emit_lock:
            self.on_event(event)

    def new_run_id(self) -> str:
        """A fresh run id (time-ordered prefix, random suffix)."""
        return f"{int(time.time()):x}{uuid.uuid4().hex[:6]}"

    def is_workflow(self, ref: Optional[str]) -> bool:
        """Whether an action reference names an orquesta workflow of the pack."""
        spec = self.registry.actions.get(str(ref)) or self.registry.actions.get(
            f"{self.registry.pack_ref}.{ref}"
        )
        return spec is not None and spec.runner_type == "orquesta"

    def handle_inquiry(self, driver: RunDriver, flight: Any, resumed: bool = False) -> None:
        """Answer or park a core.ask (see ``inquiry``)."""
        inquiry.handle_inquiry(self, driver, flight, resumed)

    # -- starting and resuming --------------------------------------------------
    def prepare(self, workflow: str, params: Mapping[str, Any]) -> Tuple[ActionSpec, Dict]:
        """Resolve and validate a workflow and its parameters (nothing runs).

        The CLI prepares before it starts (every check before anything runs) and ``start``
        prepares again: the very next call with the same request reuses the answer (a
        fresh copy of the values); any other call checks again.
        """
        try:
            key: Optional[str] = json.dumps([workflow, params], sort_keys=True)
        except (TypeError, ValueError):
            key = None
        kept, self._prepared = self._prepared.get(key), {}
        if kept is not None:
            return kept[0], json.loads(kept[1])
        spec, values = self._prepare(workflow, params)
        if key is not None:
            try:
                self._prepared = {key: (spec, json.dumps(values))}
            except (TypeError, ValueError):
                self._prepared = {}
        return spec, values

    def _prepare(self, workflow: str, params: Mapping[str, Any]) -> Tuple[ActionSpec, Dict]:
        spec = self.registry.resolve(workflow)
        if spec.runner_type != "orquesta":
            raise InvalidInputError(
                f"{spec.ref} is not a workflow (runner {spec.runner_type})",
                details={"action": spec.ref},
            )
        values = spec.validate(params, self.config)
        load_workflow(
            self.registry, spec, make_st2_context("check", spec, self.user, self.registry.pack_ref),
            cache_dir=self.cache_dir,
        )
        return spec, values

    def _create(
        self,
        store: RunStore,
        run_id: str,
        spec: ActionSpec,
        values: Dict[str, Any],
        parent: Optional[str],
        root: str,
    ) -> Any:
        conductor = self._new_conductor(run_id, spec, values, parent)
        row = {
            "id": run_id,
            "parent_id": parent,
            "root_id": root,
            "workflow": spec.ref,
            "params": mask_values(values, spec.secrets),
            "status": statuses.REQUESTED,
            "requester": self.user,
            "created_at": time.time(),
            "started_at": time.time(),
            "secrets": json.dumps(spec.secrets),
            # a top-level run is ours from its first row: a pause request arriving
            # before acquire_run must reach this process, not "pause" it offline
            "owner_pid": None if parent else os.getpid(),
            "owner_start": None if parent else process_start_time(os.getpid()),
        }
        # The row carries the conductor's state from its first write: a process killed
        # right after the insert (before the driver's first save) left a row nobody could
        # resume, cancel or replace, holding its cluster for good (crash campaign).
        masker = Masker({n: values[n] for n in spec.secrets if n in values})
        row["conductor"] = masker.hide_state(json.dumps(conductor.serialize()))
        cluster = None if parent else clusterlock.cluster_of(spec.parameters, values)
        if cluster is None:
            store.create_run(row)
        else:  # one update per cluster: CLUSTER_BUSY while another holds it
            clusterlock.create_run_exclusive(store, row, cluster)
        return conductor

    def _new_conductor(self, run_id: str, spec: ActionSpec, values: Dict[str, Any],
                       parent: Optional[str]) -> Any:
        """A conductor for a new run of ``spec``, already asked to run."""
        st2_ctx = make_st2_context(run_id, spec, self.user, self.registry.pack_ref, parent)
        wf_spec = load_workflow(self.registry, spec, st2_ctx, cache_dir=self.cache_dir)
        conductor = Conductor(wf_spec, context=st2_ctx, inputs=values)
        conductor.cache_dir = self.cache_dir
        conductor.request_workflow_status(statuses.RUNNING)
        return conductor

    def start(
        self,
        workflow: str,
        params: Optional[Mapping[str, Any]] = None,
        run_id: Optional[str] = None,
    ) -> RunResult:
        """Validate, record and drive a new run to rest (finished, paused or canceled).

        ``run_id`` (from ``new_run_id``) lets a caller know the id before the run exists:
        a watcher or a ticket ledger refers to it while the run is driven here.
        """
        spec, values = self.prepare(workflow, params or {})
        run_id = run_id or self.new_run_id()
        conductor = self._create(self.store, run_id, spec, values, None, run_id)
        self.store.acquire_run(run_id)
        masker = Masker({n: values[n] for n in spec.secrets if n in values})
        self.emit(ProgressEvent("run_started", run_id, action=spec.ref, message=spec.ref))
        return self._drive_root(run_id, conductor, masker)

    def _drive_root(self, run_id: str, conductor: Any, masker: Masker) -> RunResult:
        try:
            status = RunDriver(self, self.store, run_id, run_id, conductor, masker).drive()
        finally:
            self.store.release_run(run_id)
        return RunResult.from_run(self.store.get_run(run_id), status)

    def _load(self, store: RunStore, run: Dict[str, Any], masker: Masker) -> Any:
        data = json.loads(masker.reveal_state(run["conductor"]))
        return Conductor.deserialize(data)

    def resume(
        self,
        run_id: str,
        respond: Optional[Dict[str, Any]] = None,
        secrets: Optional[Mapping[str, Any]] = None,
    ) -> RunResult:
        """Continue a paused or interrupted run in this process (re-running in-flight actions)."""
        run = self.store.get_run(run_id, with_state=True)
        run_id = run["id"]
        if run["parent_id"]:
            raise RunStateError(
                "Run {} is a subworkflow; resume its top-level run {}".format(
                    run_id, run["root_id"]
                ),
                code="RUN_IS_CHILD",
            )
        if run["status"] in FINAL:
            raise RunStateError(
                "Run {} already {}; there is nothing to resume".format(run_id, run["status"]),
                code="RUN_FINISHED",
                details={"run": run_id, "status": run["status"]},
                hint=f"`pacemaker-update show {run_id}` prints its result and report",
            )
        names = json.loads(run.get("secrets") or "[]")
        missing = [n for n in names if n not in (secrets or {})]
        if missing and any(f"@@secret:{n}@@" in run["conductor"] for n in missing):
            raise InvalidInputError(
                "Run {} needs its secret parameter(s) again: {}".format(run_id, ", ".join(missing)),
                hint="pass them with --param NAME=VALUE",
            )
        self.store.acquire_run(run_id)
        try:
            masker = Masker({k: v for k, v in (secrets or {}).items() if k in names})
            conductor = self._load(self.store, run, masker)
            self._check_response(run_id, conductor, respond)
            self.pending_response = respond
            self.store.set_request(run_id, None)
            self.store.update_run(run_id, pause_cause=None)
            if conductor.get_workflow_status() in (statuses.PAUSED, statuses.PAUSING):
                conductor.request_workflow_status(statuses.RESUMING)
        except BaseException:
            self.store.release_run(run_id)
            raise
        self.emit(
            ProgressEvent("run_started", run_id, message="resumed {}".format(run["workflow"]))
        )
        return self._drive_root(run_id, conductor, masker)

    def _check_response(self, run_id: str, conductor: Any, respond: Optional[Dict]) -> None:
        pending = [r for r in self.store.list_inflight(run_id) if r["kind"] == "inquiry"]
        if respond is None:
            return
        if not pending:
            raise InvalidInputError(f"Run {run_id} has no pending inquiry to respond to")
        task = conductor.get_task(pending[0]["task_id"], pending[0]["route"])
        params = self.registry.resolve("core.ask").validate(task["actions"][0]["input"] or {})
        inquiry.validate_response(params["schema"], respond)

    def run_child(
        self, driver: RunDriver, flight: Any, spec: ActionSpec, params: Dict[str, Any]
    ) -> Tuple[str, Any]:
        """Run (or resume) a subworkflow inside a worker thread; st2's ``{output[, errors]}``."""
        store = RunStore(self.state_dir)
        try:
            masker = driver.masker.child({n: params[n] for n in spec.secrets if n in params})
            try:
                run = store.get_run(flight.child_run, with_state=True)
            except RunStateError:
                run = None
            if run is None:
                conductor = self._create(
                    store, flight.child_run, spec, params, driver.run_id, driver.root_id
                )
            elif run["conductor"] is None:  # a row written before its state (older stores)
                conductor = self._new_conductor(flight.child_run, spec, params, driver.run_id)
            else:
                conductor = self._load(store, run, masker)
                if conductor.get_workflow_status() in (statuses.PAUSED, statuses.PAUSING):
                    conductor.request_workflow_status(statuses.RESUMING)
            child = RunDriver(
                self, store, flight.child_run, driver.root_id, conductor, masker, driver.depth + 1
            )
            status = child.drive()
        finally:
            store.close()
        status, result = self.results.pop(flight.child_run)
        if status in (statuses.PAUSED, statuses.PAUSING):
            return statuses.PAUSED, None
        return ("failed" if status in ("timeout", "abandoned") else status), result

    def finish_run(self, driver: RunDriver, elapsed: float) -> str:
        """Record where a driver left its run: status, output, errors, timing."""
        conductor, store = driver.conductor, driver.store
        status = conductor.get_workflow_status()
        if status in statuses.RUNNING_STATUSES and not store.list_inflight(driver.run_id):
            conductor.log_error(RuntimeError("workflow stalled: nothing left to run"))
            conductor.request_workflow_status(statuses.FAILED)
            status = conductor.get_workflow_status()
        result: Dict[str, Any] = {}
        if status in statuses.COMPLETED_STATUSES:
            try:
                conductor.render_workflow_output()
            except Exception as exc:  # noqa: BLE001 - recorded as a run error
                conductor.log_error(exc)
            status = conductor.get_workflow_status()
            result = {"output": conductor.get_workflow_output()}
            if status != statuses.SUCCEEDED and conductor.errors:
                result["errors"] = conductor.errors
        self.results[driver.run_id] = (status, result)
        prior = store.get_run(driver.run_id).get("timing") or {}
        timing = compute_timing(prior, elapsed, driver)
        driver.save()
        final = status in statuses.COMPLETED_STATUSES
        store.update_run(
            driver.run_id,
            status=status,
            result=driver.masker.mask(result),
            errors=driver.masker.mask(conductor.errors),
            timing=timing,
            ended_at=time.time() if final else None,
            **({"request": None} if driver.run_id == driver.root_id else {}),
        )
        driver.emit("run_finished", status=status, elapsed=elapsed, message=status)
        return status

    # -- control from any process or thread -------------------------------------
    def request_pause(self, run_id: str, cause: Optional[Mapping[str, Any]] = None) -> str:
        """Ask a run to pause after its running actions; returns what was done.

        Safe from any thread (own store connection); ``cause`` is recorded in the run.
        """
        return self._request(run_id, "pause", cause)

    def request_cancel(self, run_id: str) -> str:
        """Ask a run to cancel after its running actions; returns what was done."""
        return self._request(run_id, "cancel")

    def _request(self, run_id: str, what: str, cause: Optional[Mapping[str, Any]] = None) -> str:
        store = RunStore(self.state_dir)
        try:
            return request_run(store, run_id, what, cause)
        finally:
            store.close()

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM/SIGHUP: pause gracefully after the running actions.

        A second SIGINT or SIGTERM stops at once (the person means it). SIGHUP (the
        operator's terminal or SSH session went away) never does: a hangup often comes
        twice (the kernel's and the shell's), and nobody is left to mean it.
        """
        hangup = getattr(signal, "SIGHUP", None)

        def handler(signum: int, frame: Any) -> None:
            if self.stop_event.is_set():
                if signum == hangup:
                    return
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            self.stop_signal = signum
            self.stop_event.set()
            again = "" if signum == hangup else "; send it again to stop now"
            # Never wait for the display from a signal handler: the interrupted code may
            # hold its lock (a deadlock). The pause matters, this line does not (the run
            # says "pause requested" itself), nor does a terminal that is gone (hangup).
            if self._emit_lock.acquire(blocking=False):
                try:
                    self.on_event(ProgressEvent(
                        "note", "-",
                        message=f"signal {signum}: pausing after the running action(s){again}",
                    ))
                except OSError:
                    pass
                finally:
                    self._emit_lock.release()

        for sig in (signal.SIGINT, signal.SIGTERM, hangup):
            if sig is not None:
                signal.signal(sig, handler)

    def runs(self, limit: int = 20) -> List[Dict[str, Any]]:
        """Recent top-level runs (for history)."""
        return self.store.list_runs(limit)
