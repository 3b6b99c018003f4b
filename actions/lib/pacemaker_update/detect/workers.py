"""One worker thread per watched cluster, so a slow or unreachable cluster delays only itself.

``poll()`` of the sensor calls :meth:`ClusterWorker.tick` on every worker: an idle worker
starts one detection round at once; a busy one (still waiting for SSH/crm_mon) keeps going
and the tick is coalesced into at most one pending round, never a backlog.
"""

import threading
from typing import Callable, List, Optional

from pacemaker_update.detect.poller import ClusterPoller, Dispatch

Sink = Callable[[List[Dispatch]], None]


class ClusterWorker:
    """Runs ``poller.poll_once()`` in its own thread whenever ticked."""

    def __init__(self, poller: ClusterPoller, sink: Sink,
                 on_error: Optional[Callable[[BaseException], None]] = None) -> None:
        self.poller, self.sink, self.on_error = poller, sink, on_error
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.cond = threading.Condition()
        self.rounds, self.busy = 0, False
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"pacemaker_update-watch-{poller.cluster.name}")

    def start(self) -> "ClusterWorker":
        """Start the thread (idle until the first tick)."""
        self.thread.start()
        return self

    def tick(self) -> bool:
        """Ask for a round; False when one is already running (the tick is coalesced)."""
        self.wake.set()
        return not self.busy

    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self.thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current round; close the poller's connections."""
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout)
        self.poller.close()

    def wait_rounds(self, count: int, timeout: float) -> bool:
        """Block until ``count`` rounds completed in total (for tests and shutdown)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.rounds >= count, timeout)

    def _run(self) -> None:
        while True:
            self.wake.wait()
            if self.stopping.is_set():
                return
            self.wake.clear()
            self.busy = True
            try:
                self.sink(self.poller.poll_once())
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the watch
                if self.on_error is not None:
                    self.on_error(exc)
            finally:
                self.busy = False
                with self.cond:
                    self.rounds += 1
                    self.cond.notify_all()
