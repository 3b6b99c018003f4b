"""state.json: every object the lab creates is recorded here BEFORE it is created,
so `down` can remove exactly those objects, also after an interrupted `up`."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from pmlab.consts import lab_dir


def state_path() -> Path:
    """Path of state.json in the lab directory."""
    return lab_dir() / "state.json"


def load_state() -> dict[str, Any] | None:
    """The recorded state, or None when no lab is recorded."""
    try:
        return json.loads(state_path().read_text())
    except FileNotFoundError:
        return None


# `up` starts the nodes' services from a thread pool, each thread recording into the same
# state: one writer at a time (two threads sharing one tmp file raced: the second
# os.replace found it gone, FileNotFoundError, seen in CI).
_WRITE = threading.RLock()


def save_state(state: dict[str, Any]) -> None:
    """Write state.json atomically (a SIGKILL never leaves half a file)."""
    with _WRITE:
        path = state_path()
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, path)


def record(state: dict[str, Any], kind: str, name: str) -> None:
    """Add `name` to the list of created objects of `kind` and persist right away."""
    with _WRITE:
        items = state.setdefault("created", {}).setdefault(kind, [])
        if name not in items:
            items.append(name)
        save_state(state)


@contextlib.contextmanager
def lab_lock() -> Iterator[None]:
    """Serialise commands that change the lab (up/down/faults)."""
    lab_dir().mkdir(parents=True, exist_ok=True)
    with open(lab_dir() / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
