"""What a run returns to its caller, and how its time was spent."""

from typing import Any, Dict, List, Optional, Tuple

EXIT_CODES = {
    "succeeded": 0,
    "failed": 1,
    "timeout": 1,
    "abandoned": 1,
    "paused": 3,
    "pausing": 3,
    "canceled": 4,
    "canceling": 4,
}


def exit_code_for(status: str) -> int:
    """CLI exit code for a run status: 0 ok, 1 failed, 3 paused, 4 canceled."""
    return EXIT_CODES.get(status, 1)


def union_length(intervals: List[Tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals (parallel actions)."""
    total, end = 0.0, None  # type: float, Optional[float]
    for begin, finish in sorted(intervals):
        if end is None or begin > end:
            total += finish - begin
            end = finish
        elif finish > end:
            total += finish - end
            end = finish
    return total


def compute_timing(prior: Dict[str, Any], elapsed: float, driver: Any) -> Dict[str, Any]:
    """Cumulative timing of a run: wall, inside actions, delays, runner overhead.

    overhead = wall time minus the time covered by actions and required delays,
    i.e. what the runner itself (conductor, store, threads) cost.
    """
    busy = union_length(driver.intervals)
    wall = prior.get("wall", 0.0) + elapsed
    actions = prior.get("actions", 0) + driver.actions
    overhead = prior.get("overhead", 0.0) + max(0.0, elapsed - busy)
    return {
        "wall": round(wall, 6),
        "action_time": round(prior.get("action_time", 0.0) + driver.action_time, 6),
        "delay_time": round(prior.get("delay_time", 0.0) + driver.delay_time, 6),
        "overhead": round(overhead, 6),
        "actions": actions,
        "overhead_per_action_ms": round(1000.0 * overhead / actions, 3) if actions else None,
    }


class RunResult:
    """Outcome of driving a run to rest."""

    def __init__(
        self,
        run_id: str,
        workflow: str,
        status: str,
        output: Any,
        errors: Any,
        timing: Dict[str, Any],
        pause_cause: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.run_id, self.workflow, self.status = run_id, workflow, status
        self.output, self.errors, self.timing = output, errors, timing
        self.pause_cause = pause_cause

    @property
    def exit_code(self) -> int:
        """0 succeeded, 1 failed, 3 paused, 4 canceled."""
        return exit_code_for(self.status)

    @classmethod
    def from_run(cls, run: Dict[str, Any], status: Optional[str] = None) -> "RunResult":
        """Build from a store row (output and errors are the masked, stored ones)."""
        result = run.get("result") or {}
        status = status or run["status"]
        return cls(
            run["id"],
            run["workflow"],
            status,
            result.get("output"),
            result.get("errors") or run.get("errors") or [],
            run.get("timing") or {},
            run.get("pause_cause") if status in ("paused", "pausing") else None,
        )

    def to_dict(self) -> Dict[str, Any]:
        """JSON form (what ``--json`` prints); ``pause_cause`` only for a paused run."""
        out = {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.status,
            "exit_code": self.exit_code,
            "output": self.output,
            "errors": self.errors,
            "timing": self.timing,
        }
        if self.pause_cause is not None:
            out["pause_cause"] = self.pause_cause
        return out
