"""Drive one paramiko session channel: exec, feed stdin, read both streams, wait, time out.

stdout and stderr share one SSH window: reading only one of them would let a chatty other
stream fill the window and stall the remote program forever. So each stream gets its own
reader thread (as invoke/fabric do), and stdin its own writer.
"""


import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

_CHUNK = 32768


@dataclass(frozen=True)
class ChannelOutcome:
    """What came back over a channel. ``timed_out``: the deadline passed, channel closed."""

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    exit_status_received: bool


def _drain(recv: Callable[[int], bytes], chunks: List[bytes]) -> None:
    try:
        while True:
            data = recv(_CHUNK)
            if not data:
                return
            chunks.append(data)
    except (OSError, EOFError):  # channel torn down under us: keep what we have
        return


def _feed(channel: Any, data: Optional[bytes]) -> None:
    try:
        if data:
            channel.sendall(data)
        channel.shutdown_write()  # EOF, so a program reading stdin never waits for more
    except (OSError, EOFError):
        return


def _start(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def run_channel(channel: Any, command: str, timeout: float,
                stdin: Optional[bytes] = None) -> ChannelOutcome:
    """Exec ``command`` on an open session ``channel`` and collect it within ``timeout``.

    On timeout the channel is closed (the caller's remote-side limit ends the process) and
    ``timed_out`` is set; the caller raises. The channel is always closed on return.
    """
    deadline = time.monotonic() + timeout
    out: List[bytes] = []
    err: List[bytes] = []
    try:
        channel.exec_command(command)
        threads = [_start(_drain, channel.recv, out), _start(_drain, channel.recv_stderr, err),
                   _start(_feed, channel, stdin)]
        for thread in threads[:2]:
            thread.join(max(0.0, deadline - time.monotonic()))
        finished = all(not t.is_alive() for t in threads[:2]) and channel.status_event.wait(
            max(0.0, deadline - time.monotonic()))
    finally:
        channel.close()
    if not finished:
        for thread in threads:  # close() ended their reads; collect what arrived
            thread.join(1.0)
    return ChannelOutcome(
        rc=channel.exit_status, stdout=b"".join(out), stderr=b"".join(err),
        timed_out=not finished, exit_status_received=channel.exit_status != -1,
    )
