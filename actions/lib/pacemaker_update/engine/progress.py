"""Progress events of a run: what the CLI renders and what a caller may log."""

import time
from typing import Any, Callable, Dict, Optional


class ProgressEvent:
    """One thing that happened in a run.

    ``kind`` is one of: run_started, run_finished, task_started, task_finished,
    action_output, inquiry, request, note.
    """

    __slots__ = (
        "kind",
        "run_id",
        "task_id",
        "route",
        "item_id",
        "action",
        "status",
        "elapsed",
        "message",
        "ts",
        "depth",
    )

    def __init__(
        self,
        kind: str,
        run_id: str,
        task_id: Optional[str] = None,
        route: Optional[int] = None,
        item_id: Optional[int] = None,
        action: Optional[str] = None,
        status: Optional[str] = None,
        elapsed: Optional[float] = None,
        message: str = "",
        depth: int = 0,
    ) -> None:
        self.kind = kind
        self.run_id = run_id
        self.task_id = task_id
        self.route = route
        self.item_id = item_id
        self.action = action
        self.status = status
        self.elapsed = elapsed
        self.message = message
        self.ts = time.time()
        self.depth = depth

    def to_dict(self) -> Dict[str, Any]:
        """The event as a JSON-serialisable dict."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}

    def label(self) -> str:
        """``task`` or ``task[item]`` for display."""
        if self.task_id is None:
            return ""
        return self.task_id if self.item_id is None else f"{self.task_id}[{self.item_id}]"


EventSink = Callable[[ProgressEvent], None]


def ignore_event(event: ProgressEvent) -> None:
    """Default sink: drop the event."""
    return None
