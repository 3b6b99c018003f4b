"""How the CLI shows runs: live progress on a TTY, timestamped lines otherwise."""

import json
import sys
import time
from typing import IO, Any, Callable, Dict, List, Optional

from pacemaker_update.engine.progress import ProgressEvent

PlanRenderer = Callable[[Dict[str, Any], IO[str]], None]
# Hook: workflow ref -> renderer of its dry-run result (e.g. a per-node table).
PLAN_RENDERERS: Dict[str, PlanRenderer] = {}
MARKS = {
    "succeeded": "ok",
    "failed": "FAILED",
    "canceled": "canceled",
    "paused": "paused",
    "pending": "waiting",
    "running": "..",
    "rerun": "re-run",
}


def _fmt_elapsed(seconds: Optional[float]) -> str:
    return "" if seconds is None else f" ({seconds:.2f}s)"


def describe_event(event: ProgressEvent) -> str:
    """One line for an event, without timestamp."""
    pad = "  " * event.depth
    label = event.label()
    if event.kind in ("task_started", "task_finished", "inquiry"):
        mark = MARKS.get(event.status or "", event.status or "")
        return "%s%-7s %s %s%s%s" % (  # noqa: UP031 - column widths
            pad,
            mark,
            label,
            event.action or "",
            _fmt_elapsed(event.elapsed),
            (" - " + event.message) if event.message else "",
        )
    if event.kind == "action_output":
        return f"{pad}        {label} | {event.message}"
    if event.kind == "run_finished":
        return f"{pad}run {event.run_id} {event.status}{_fmt_elapsed(event.elapsed)}"
    return "{}{} {}".format(
        pad, (f"run {event.run_id}:") if event.run_id != "-" else "", event.message
    )


class LineRenderer:
    """Plain timestamped lines (logs, pipes, CI)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: ProgressEvent) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(event.ts))
        self.stream.write(f"{stamp} {describe_event(event)}\n")
        self.stream.flush()


class LiveRenderer:
    """TTY display: finished steps scroll, a bottom line shows what runs now."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.running: Dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        key = f"{event.run_id}/{event.label()}"
        self.stream.write("\r\033[K")
        if event.kind == "task_started":
            self.running[key] = event.ts
        elif event.kind == "task_finished":
            self.running.pop(key, None)
        if event.kind != "task_started":
            self.stream.write(describe_event(event) + "\n")
        if self.running:
            now = time.time()
            parts = [
                "{} {:.0f}s".format(k.split("/", 1)[1], now - t) for k, t in self.running.items()
            ]
            self.stream.write("running: " + ", ".join(parts))
        self.stream.flush()


def make_renderer(stream: IO[str]) -> Callable[[ProgressEvent], None]:
    """Live display on a terminal, timestamped lines otherwise."""
    return LiveRenderer(stream) if stream.isatty() else LineRenderer(stream)


def tty_prompt(schema: Dict[str, Any], task_id: str) -> Optional[Dict[str, Any]]:
    """Ask the person at the terminal to answer a core.ask (None: leave it pending)."""
    answer: Dict[str, Any] = {}
    sys.stderr.write(f"\nTask {task_id} asks for a response.\n")
    for name, prop in (schema.get("properties") or {}).items():
        text = (prop or {}).get("description") or name
        try:
            reply = input("{} [{}] (empty: decide later): ".format(
                text, (prop or {}).get("type")))
        except (EOFError, OSError):  # the terminal is gone (hangup): nobody to answer
            return None
        if reply.strip() == "":
            return None
        if (prop or {}).get("type") == "boolean":
            answer[name] = reply.strip().lower() in ("y", "yes", "true", "1")
        else:
            answer[name] = reply
    return answer


def print_runs(runs: List[Dict[str, Any]], stream: IO[str]) -> None:
    """A table of runs (history, status)."""
    head = ("RUN", "WORKFLOW", "STATUS", "STARTED", "WALL")
    stream.write("%-16s %-28s %-10s %-19s %s\n" % head)  # noqa: UP031 - column widths
    for run in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["created_at"] or 0))
        wall = (run.get("timing") or {}).get("wall")
        stream.write(
            "%-16s %-28s %-10s %-19s %s\n"  # noqa: UP031 - column widths
            % (
                run["id"],
                run["workflow"],
                run["status"],
                started,
                "" if wall is None else f"{wall:.1f}s",
            )
        )
        cause = run.get("pause_cause")
        if run["status"] in ("paused", "pausing") and isinstance(cause, dict):
            said = pause_line(cause)
            stream.write(f"  {said[:157] + '...' if len(said) > 160 else said}\n")


def pause_line(cause: Dict[str, Any]) -> str:
    """'paused by KIND: MESSAGE', how every CLI output names a paused run's cause."""
    return "paused by {}: {}".format(cause.get("kind"), cause.get("message"))


def print_run(
    run: Dict[str, Any], tasks: List[Dict[str, Any]], stream: IO[str], verbose: bool = False
) -> None:
    """One run with its tasks and timing."""
    stream.write(
        "run {}  {}  {}  by {}\n".format(
            run["id"], run["workflow"], run["status"], run.get("requester")
        )
    )
    stream.write("params: {}\n".format(json.dumps(run.get("params") or {}, sort_keys=True)))
    for task in tasks:
        item = task["item_id"]
        label = task["task_id"] + ("" if item is None else f"[{item}]")
        stream.write(
            "  %-9s %-24s %-32s %s\n"  # noqa: UP031 - column widths
            % (
                task["status"],
                label,
                task.get("action") or "-",
                "" if task["duration"] is None else "{:.3f}s".format(task["duration"]),
            )
        )
        if verbose and task.get("result") is not None:
            stream.write("            result: {}\n".format(json.dumps(task["result"])[:2000]))
    timing = run.get("timing") or {}
    if timing:
        stream.write(
            "timing: wall {:.3f}s, in actions {:.3f}s, delays {:.3f}s, runner overhead "
            "{:.3f}s ({} ms/action)\n".format(
                timing["wall"],
                timing["action_time"],
                timing["delay_time"],
                timing["overhead"],
                timing.get("overhead_per_action_ms"),
            )
        )
    result = run.get("result")
    if result:
        stream.write(f"result: {json.dumps(result, indent=2, sort_keys=True)}\n")
