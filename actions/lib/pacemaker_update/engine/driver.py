"""Driving one workflow run with the real orquesta conductor, as st2 does.

The main thread owns the conductor: it asks for the next tasks, marks them
running, hands actions to worker threads (or runs an action itself when it is the only
thing to run: no hand-over) and feeds their results back
(``ActionExecutionEvent`` / ``TaskItemActionExecutionEvent``). It also does
what the conductor leaves to the runner: waiting task delays, fast-forwarding
tasks without an action and with-items over empty lists, remembering item
results and in-flight actions, and polling for pause/cancel requests between
actions. Every change is written to the store in one transaction with the
conductor state, so a killed process can be resumed.
"""

import concurrent.futures as cf
import contextlib
import json
import signal
import time
from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.engine import compat

compat.apply_fixes()

from orquesta import events, statuses  # type: ignore  # noqa: E402
from orquesta import exceptions as orq_exc  # type: ignore  # noqa: E402

from pacemaker_update.engine.compaction import compact_contexts  # noqa: E402
from pacemaker_update.engine.control import request_run  # noqa: E402
from pacemaker_update.engine.flight import Flight, execute_flight  # noqa: E402
from pacemaker_update.engine.progress import ProgressEvent  # noqa: E402
from pacemaker_update.errors import RunStateError  # noqa: E402

NO_ITEM = -1
# Why a runner gets each stop signal, as the run's pause cause says it.
SIGNAL_REASONS = {
    "SIGHUP": "the terminal or SSH session running the update went away",
    "SIGINT": "interrupted (Ctrl-C)",
    "SIGTERM": "asked to stop (SIGTERM, e.g. kill or a service manager)",
}


def signal_name(signum: int) -> str:
    """SIGHUP for 1, and so on; the number for a signal this platform does not name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def pause_requested(result: Any) -> bool:
    """Whether a python action's st2-shaped result says ``data.pause_requested: true``."""
    value = result.get("result") if isinstance(result, dict) else None
    data = value.get("data") if isinstance(value, dict) else None
    return isinstance(data, dict) and data.get("pause_requested") is True


class RunDriver:
    """Runs one workflow execution (a top-level run or a subworkflow) to rest."""

    def __init__(
        self,
        engine: Any,
        store: Any,
        run_id: str,
        root_id: str,
        conductor: Any,
        masker: Any,
        depth: int = 0,
    ) -> None:
        self.engine, self.store, self.run_id, self.root_id = engine, store, run_id, root_id
        self.conductor, self.masker, self.depth = conductor, masker, depth
        self.futures: Dict[Any, Flight] = {}
        self.pool: Optional[cf.ThreadPoolExecutor] = None
        self.intervals: List[Tuple[float, float]] = []
        self.action_time = self.delay_time = 0.0
        self.actions = 0
        self.requested: Optional[str] = None
        self.dirty = True  # the conductor changed since the last save
        self.pending: List[Dict[str, Any]] = []  # task rows written with the next save

    # -- events and persistence ---------------------------------------------
    def emit(self, kind: str, flight: Optional[Flight] = None, **kw: Any) -> None:
        """Send a progress event (secrets masked) to the engine's sink."""
        if flight is not None:
            kw.update(
                task_id=flight.task_id,
                route=flight.route,
                action=flight.ref,
                item_id=flight.item_id,
            )
        if "message" in kw:
            kw["message"] = self.masker.mask_text(str(kw["message"]))
        self.engine.emit(ProgressEvent(kind, self.run_id, depth=self.depth, **kw))

    def save(self) -> None:
        """Write the conductor state (secrets replaced by markers), its history folded first,
        with the rows of the tasks fast-forwarded since the last save (one transaction)."""
        compact_contexts(self.conductor)
        dump = getattr(self.conductor, "serialize_json", None)
        text = dump() if dump else json.dumps(self.conductor.serialize())
        text = self.masker.hide_state(text)
        together = self.pending and not self.store.db.in_transaction
        with self.store.transaction() if together else contextlib.nullcontext():
            self.flush_rows()
            self.store.save_conductor(self.run_id, text, self.conductor.get_workflow_status())
        self.dirty = False

    def flush_rows(self) -> None:
        """Write the task rows kept for the next save (in the caller's transaction)."""
        rows, self.pending = self.pending, []
        for row in rows:
            self.store.add_task(row)

    def update(self, flight: Flight, status: str, result: Any = None, acc: Any = None) -> None:
        """Feed one action status to the conductor (item-aware)."""
        if flight.item_id is None:
            event = events.ActionExecutionEvent(status, result=result)
        else:
            event = events.TaskItemActionExecutionEvent(
                flight.item_id, status, result=result, accumulated_result=acc
            )
        self.dirty = True
        self.conductor.update_task_state(flight.task_id, flight.route, event)

    # -- the loop -----------------------------------------------------------
    def drive(self) -> str:
        """Run until nothing is left to do; returns the workflow status."""
        start = time.monotonic()
        try:
            self.recover_inflight()
            while True:
                self.apply_requests()
                progressed = self.dispatch_ready()
                if self.futures:
                    self.collect(self.engine.poll_interval)
                elif not progressed:
                    break
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
        return self.engine.finish_run(self, time.monotonic() - start)

    def apply_requests(self) -> None:
        """Turn a pause/cancel request (flag in the DB or a signal) into a conductor request."""
        request = self.store.get_request(self.root_id)
        if self.engine.stop_event.is_set() and request != "cancel":
            if request != "pause" and self.requested != "pause":
                self.record_signal_cause()
            request = "pause"
        if not request or request == self.requested:
            return
        target = statuses.CANCELED if request == "cancel" else statuses.PAUSED
        try:
            self.conductor.request_workflow_status(target)
        except orq_exc.InvalidWorkflowStatusTransition:
            return
        self.requested = request
        self.emit(
            "request", status=self.conductor.get_workflow_status(), message=f"{request} requested"
        )
        self.save()

    def record_signal_cause(self) -> None:
        """A pause asked by a signal says so in the run's record (``show RUN``, the run's
        --json), unless the run already has a cause (the first reason wins)."""
        signum = self.engine.stop_signal
        if signum is None or self.store.get_run(self.root_id).get("pause_cause"):
            return
        name = signal_name(signum)
        why = SIGNAL_REASONS.get(name, "the runner was asked to stop")
        self.store.update_run(self.root_id, pause_cause={
            "kind": "signal", "source": "runner", "signal": name,
            "message": f"{name}: {why}; paused after the running action(s)"})

    def dispatch_ready(self) -> bool:
        """Start every task the conductor says is ready; whether anything happened.

        Saved at the end when an action was started here (its start saved everything
        before it: ``start_flight``) or when only tasks without action were completed: those
        are saved with the next save (the next action's start, a request, the run's end), in
        one transaction with their task rows; a process killed before that does them again.
        """
        tasks = self.conductor.get_next_tasks()
        if tasks:
            self.dirty = True  # rendering the tasks may have changed the state
        alone = len(tasks) == 1 and not self.futures and len(tasks[0]["actions"]) == 1
        for task in tasks:
            self.dispatch_task(task, inline=alone and not task["spec"].has_items())
        if tasks and self.dirty and not self._only_fast_forwarded(tasks):
            self.save()
        return bool(tasks)

    def _only_fast_forwarded(self, tasks: List[Dict[str, Any]]) -> bool:
        return all(
            (t["spec"].has_items() and t.get("items_count") == 0)
            or all(a.get("action") is None for a in t["actions"])
            for t in tasks
        )

    def dispatch_task(self, task: Dict[str, Any], inline: bool = False) -> None:
        """Mark a task's actions running and start them (or fast-forward the task).

        ``inline``: the task's one action is the only thing to run (``start_flight``).
        """
        tid, route = task["id"], task["route"]
        if task["spec"].has_items() and task.get("items_count") == 0:
            flight = Flight(tid, route, None, None, {}, 0)
            self.fast_forward(flight, [])
            return
        for action in task["actions"]:
            item_id = action.get("item_id")
            flight = Flight(
                tid,
                route,
                item_id,
                action.get("action"),
                action.get("input") or {},
                task.get("items_count", 0),
                delay=task.get("delay") or 0,
            )
            if flight.ref is None:
                self.fast_forward(flight, None)
            else:
                self.update(flight, statuses.RUNNING)
                self.start_flight(flight, inline=inline)

    def fast_forward(self, flight: Flight, result: Any) -> None:
        """Complete a task that has nothing to run (no action, empty with-items)."""
        event = events.ActionExecutionEvent
        self.dirty = True
        self.conductor.update_task_state(flight.task_id, flight.route, event(statuses.RUNNING))
        self.conductor.update_task_state(
            flight.task_id, flight.route, event(statuses.SUCCEEDED, result=result)
        )
        now = time.time()
        self.pending.append(
            {
                "run_id": self.run_id,
                "task_id": flight.task_id,
                "route": flight.route,
                "status": statuses.SUCCEEDED,
                "started_at": now,
                "ended_at": now,
                "duration": 0.0,
                "action_time": 0.0,
                "delay": 0.0,
                "result": result,
            }
        )

    def start_flight(self, flight: Flight, rerun: bool = False, inline: bool = False) -> None:
        """Record an action as in flight and hand it to a worker (or ask for an answer).

        ``inline``: nothing else can run beside it, so a python or core action without
        delay runs in this thread (the same ``execute_flight``, results fed at once):
        no hand-over to a worker and back (milliseconds per action on a loaded machine).
        Pause and cancel requests are applied after it, as they are after a worker's.
        """
        flight.started = time.time()
        if flight.child_run is None and self.engine.is_workflow(flight.ref):
            flight.child_run = self.engine.new_run_id()
        with self.store.transaction():
            self.flush_rows()  # the tasks completed before this one come first
            flight.seq = self.store.add_task(
                {
                    "run_id": self.run_id,
                    "task_id": flight.task_id,
                    "route": flight.route,
                    "item_id": flight.item_id,
                    "action": flight.ref,
                    "status": statuses.RUNNING,
                    "started_at": flight.started,
                    "input": self.masker.mask(flight.params),
                    "child_run": flight.child_run,
                }
            )
            self.store.put_inflight(flight.inflight_row(self.run_id))
            self.save()
        self.emit("task_started", flight, status="rerun" if rerun else statuses.RUNNING)
        if flight.ref == "core.ask":
            self.engine.handle_inquiry(self, flight)
            return
        if inline and flight.child_run is None and not flight.delay and not self.futures:
            status, result = execute_flight(self, flight)
            self.complete(flight, status, result)
            return
        if self.pool is None:
            self.pool = cf.ThreadPoolExecutor(max_workers=self.engine.max_workers)
        self.futures[self.pool.submit(execute_flight, self, flight)] = flight

    def collect(self, timeout: float) -> None:
        """Wait a little for workers; feed every finished action to the conductor."""
        done, _ = cf.wait(list(self.futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        for future in done:
            flight = self.futures.pop(future)
            status, result = future.result()
            self.complete(flight, status, result)

    def complete(self, flight: Flight, status: str, result: Any) -> None:
        """Feed an action result to the conductor and write it down atomically."""
        ended = time.time()
        acc = None
        with self.store.transaction():
            if flight.item_id is not None:
                hidden = json.loads(self.masker.hide_state(json.dumps(result)))
                self.store.put_item(
                    self.run_id, flight.task_id, flight.route, flight.item_id, status, hidden
                )
                items = self.store.get_items(self.run_id, flight.task_id, flight.route)
                items = {
                    k: json.loads(self.masker.reveal_state(json.dumps(v))) for k, v in items.items()
                }
                acc = [items.get(i) for i in range(flight.items_count)]
            self.update(flight, status, result, acc)
            entry = self.conductor.get_task_state_entry(flight.task_id, flight.route) or {}
            if flight.item_id is not None and entry.get("status") in statuses.COMPLETED_STATUSES:
                self.store.clear_items(self.run_id, flight.task_id, flight.route)
            if status != statuses.PAUSED:
                self.store.drop_inflight(
                    self.run_id,
                    flight.task_id,
                    flight.route,
                    NO_ITEM if flight.item_id is None else flight.item_id,
                )
            self.store.finish_task(
                flight.seq,
                status=status,
                ended_at=ended,
                duration=ended - flight.started,
                action_time=flight.action_time,
                delay=flight.delay_waited,
                result=self.masker.mask(result),
                child_run=flight.child_run,
            )
            self.save()
        self.actions += 1
        self.action_time += flight.action_time
        self.delay_time += flight.delay_waited
        self.intervals.extend(flight.intervals)
        self.emit("task_finished", flight, status=status, elapsed=ended - flight.started)
        if pause_requested(result):
            self.pause_for_action(flight, result)

    def pause_for_action(self, flight: Flight, result: Dict[str, Any]) -> None:
        """An action asked for a pause (``data.pause_requested``): pause the top-level run.

        Exactly what ``pacemaker-update pause`` does (request flag on the root run, applied
        before the next task starts); the action's message is kept as the pause cause.
        """
        value: Dict[str, Any] = result.get("result") or {}
        error: Dict[str, Any] = value["error"] if isinstance(value.get("error"), dict) else {}
        cause = {
            "kind": "pause_requested",
            "source": "action",
            "run_id": self.run_id,
            "task_id": flight.task_id,
            "action": flight.ref,
            "code": error.get("code"),
            "message": self.masker.mask_text(
                str(error.get("message") or value.get("data", {}).get("message") or "")
            ),
        }
        try:
            request_run(self.store, self.root_id, "pause", cause)
        except RunStateError:
            return  # the top-level run already ended: nothing left to pause
        self.emit("note", flight, message=f"{flight.ref} asked to pause the run")

    def recover_inflight(self) -> None:
        """Restart actions that were in flight when the last process stopped."""
        for row in self.store.list_inflight(self.run_id):
            flight = Flight.from_row(row, self.conductor)
            if row["kind"] == "inquiry":
                self.engine.handle_inquiry(self, flight, resumed=True)
                continue
            entry = self.conductor.get_task_state_entry(flight.task_id, flight.route) or {}
            if entry.get("status") == statuses.PAUSED:
                self.update(flight, statuses.RUNNING)
            self.start_flight(flight, rerun=not flight.child_run)
