"""Processes: running commands, finding the lab's own processes by their tag, killing them."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from pmlab.errors import LabError

TAG_VAR = "PMU_LAB_TAG"


def run(argv: Sequence[str], check: bool = True, timeout: float = 60,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run argv (no shell) and capture output; raise LabError on failure when `check`."""
    res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                         input=input_text)
    if check and res.returncode != 0:
        raise LabError(f"command failed (rc {res.returncode}): {' '.join(argv)}\n"
                       f"{(res.stderr or res.stdout).strip()[-800:]}")
    return res


def start_time(pid: int) -> int | None:
    """Kernel start time of pid (field 22 of /proc/pid/stat); None if gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(data.rsplit(")", 1)[1].split()[19])


def parent_pid(pid: int) -> int | None:
    """Parent pid of pid, None if gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(data.rsplit(")", 1)[1].split()[1])


def has_tag(pid: int, tag: str) -> bool:
    """True when pid was started by this lab (its environment carries the lab's tag)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{TAG_VAR}={tag}".encode() in env.split(b"\0")


def tagged_pids(tag: str) -> list[int]:
    """Every live process in this PID namespace view carrying the lab's tag."""
    own = os.getpid()
    return [int(p) for p in os.listdir("/proc")
            if p.isdigit() and int(p) != own and has_tag(int(p), tag)]


def children_of(pid: int) -> list[int]:
    """Direct children of pid (the kernel here has no /proc/*/children)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and parent_pid(int(p)) == pid]


def is_ours(pid: int, tag: str, started: int | None) -> bool:
    """pid is still the process the lab recorded (tag and start time match)."""
    return has_tag(pid, tag) and (started is None or start_time(pid) == started)


def kill_and_wait(pids: Sequence[int], timeout: float = 10) -> list[int]:
    """SIGKILL pids and wait until they are gone; returns those still present."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        if alive:
            time.sleep(0.05)
    return alive


def _alive(pid: int) -> bool:
    """A process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
