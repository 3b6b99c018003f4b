"""One action of one task on its way through a worker thread."""

import time
from typing import Any, Dict, List, Optional, Tuple

from pacemaker_update.engine import actions as actions_mod
from pacemaker_update.errors import PacemakerUpdateError

SUCCEEDED, FAILED = "succeeded", "failed"


class Flight:
    """An action handed to a worker: where it belongs, what it runs, how long it took."""

    def __init__(
        self,
        task_id: str,
        route: int,
        item_id: Optional[int],
        ref: Optional[str],
        params: Dict[str, Any],
        items_count: int,
        delay: int = 0,
        child_run: Optional[str] = None,
    ) -> None:
        self.task_id, self.route, self.item_id = task_id, route, item_id
        self.ref, self.params, self.items_count = ref, params, items_count
        self.delay, self.child_run = delay, child_run
        self.seq = 0
        self.started = 0.0
        self.action_time = 0.0
        self.delay_waited = 0.0
        self.intervals: List[Tuple[float, float]] = []

    def inflight_row(self, run_id: str) -> Dict[str, Any]:
        """The row that lets a later process re-run this action."""
        return {
            "run_id": run_id,
            "task_id": self.task_id,
            "route": self.route,
            "item_id": -1 if self.item_id is None else self.item_id,
            "action": self.ref,
            "kind": "inquiry" if self.ref == "core.ask" else "action",
            "child_run": self.child_run,
            "started_at": self.started,
            "task_seq": self.seq,
        }

    @classmethod
    def from_row(cls, row: Dict[str, Any], conductor: Any) -> "Flight":
        """Rebuild an in-flight action, re-rendering its input from the conductor."""
        item_id = None if row["item_id"] < 0 else row["item_id"]
        task = conductor.get_task(row["task_id"], row["route"])
        action = task["actions"][0]
        for candidate in task["actions"]:
            if candidate.get("item_id") == item_id:
                action = candidate
        flight = cls(
            row["task_id"],
            row["route"],
            item_id,
            action.get("action"),
            action.get("input") or {},
            task.get("items_count", 0),
            child_run=row["child_run"],
        )
        flight.seq = row["task_seq"] or 0
        return flight


def _timed_delay(flight: Flight) -> None:
    if flight.delay > 0:
        begin = time.monotonic()
        time.sleep(flight.delay)
        end = time.monotonic()
        flight.delay_waited = end - begin
        flight.intervals.append((begin, end))


def execute_flight(driver: Any, flight: Flight) -> Tuple[str, Any]:
    """Run one action in a worker thread; returns (status, st2-shaped result)."""
    engine = driver.engine
    _timed_delay(flight)
    try:
        spec = engine.registry.resolve(flight.ref)
        params = spec.validate(flight.params, engine.config)
    except PacemakerUpdateError as exc:
        return FAILED, {"error": exc.message, "code": exc.code, "details": exc.details}
    begin = time.monotonic()
    try:
        if spec.runner_type == "core":
            return SUCCEEDED, actions_mod.st2_core_result(spec.ref, params)
        if spec.runner_type == "orquesta":
            return engine.run_child(driver, flight, spec, params)

        def sink(stream: str, line: str) -> None:
            driver.emit("action_output", flight, status=stream, message=line)

        ok, result, _inside = actions_mod.run_python_action(
            engine.registry, spec, params, engine.config, engine.action_service(), sink
        )
        return (SUCCEEDED if ok else FAILED), result
    finally:
        end = time.monotonic()
        flight.action_time = end - begin
        flight.intervals.append((begin, end))
