"""A CommandScript for ops that run each node's commands in a thread of their own
(ops.start_cluster): calls of different nodes may interleave, each node's own come in order.

``ConcurrentScript.expect`` as CommandScript; a call is matched against the first expected
call of its host within the leading block of ``concurrent`` commands (argv prefixes), so
only the order per node is checked there; everything else stays strictly ordered.
``meet(host_a, host_b, argv)`` makes host_a's call wait until host_b's same call arrived:
a sequential op never gets there and the wait fails the call (proof it ran concurrently).
"""

import threading
from typing import Any, Dict, List, Sequence, Tuple

from helpers.fake_transport import CommandScript

MEET_TIMEOUT = 5.0  # only bounds a failing test; a passing one never waits this long


class ConcurrentScript(CommandScript):
    """CommandScript whose ``concurrent`` commands may come from several threads."""

    def __init__(self, concurrent: Sequence[Sequence[str]] = (("systemctl", "start"),)) -> None:
        super().__init__()
        self.concurrent = [list(p) for p in concurrent]
        self.lock = threading.Lock()
        self.arrived: Dict[Tuple[str, Tuple[str, ...]], threading.Event] = {}
        self.meetings: List[Tuple[str, str, Tuple[str, ...]]] = []

    def meet(self, waiter: str, other: str, argv: Sequence[str]) -> None:
        """``waiter``'s ``argv`` does not return before ``other``'s ``argv`` was called."""
        self.meetings.append((waiter, other, tuple(argv)))

    def _is_concurrent(self, argv: Sequence[str]) -> bool:
        return any(list(argv[:len(p)]) == p for p in self.concurrent)

    def _event(self, host: str, argv: Sequence[str]) -> threading.Event:
        return self.arrived.setdefault((host, tuple(argv)), threading.Event())

    def run(self, host: str, argv: Sequence[str], stdin: Any = None) -> Any:
        with self.lock:
            if self._is_concurrent(argv):
                for i, exp in enumerate(self.expected):
                    if not self._is_concurrent(exp.argv):
                        break
                    if exp.host == host:
                        self.expected.insert(0, self.expected.pop(i))
                        break
            self._event(host, argv).set()
            result = super().run(host, argv, stdin)
            waits = [self._event(other, a) for w, other, a in self.meetings
                     if w == host and a == tuple(argv)]
        for event in waits:
            if not event.wait(MEET_TIMEOUT):
                raise AssertionError(f"{host}: {list(argv)} returned before the other node's "
                                     f"call arrived: the nodes were not handled at once")
        return result
