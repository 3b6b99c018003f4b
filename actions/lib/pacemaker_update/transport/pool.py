"""Process-wide reuse of idle SSH connections (key exchange + auth cost ~0.1-0.2 s each).

The embedded runner builds new transports for every action (config.transport_for), so
without reuse every action opened a fresh connection to each node it touched. A transport
that is done hands its connection back with ``release()``; the next transport with exactly
the same connection parameters (the key: address, port, user, credentials, known_hosts,
host-key policy, timeouts) takes it instead of connecting.

Rules that keep the transport's semantics:
- a connection is held by one transport at a time (taken out of the pool while in use), so
  concurrency is what it was without the pool: one connection per live transport;
- a pooled connection is checked before use: paramiko must still see it active here, and
  the transport opens its first session on it with a short timeout (a round trip to sshd)
  and reconnects when that fails - before any command was sent, so nothing runs twice;
- host keys were verified when the connection was made with the same known_hosts and
  policy (part of the key), and a reconnect re-verifies them;
- connections idle longer than ``IDLE_SECONDS`` are closed, at most ``MAX_IDLE`` are kept per
  key, everything left is closed at interpreter exit, and a forked child forgets the
  parent's connections (their sockets and reader threads belong to the parent).
"""

import atexit
import contextlib
import os
import threading
import time
from typing import Any, Dict, Hashable, List, Optional, Tuple

IDLE_SECONDS = 300.0
MAX_IDLE = 4
CHECK_TIMEOUT = 1.0  # seconds for the first session on a pooled connection (alive check)


def _active(client: Any) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active()


def _close_all(clients: List[Any]) -> None:
    for client in clients:
        # closing a dead connection may fail: there is nothing left to release then
        with contextlib.suppress(Exception):
            client.close()


class ConnectionPool:
    """Idle connected ``paramiko.SSHClient`` objects by connection key; thread-safe."""

    def __init__(self, max_idle: int = MAX_IDLE, idle_seconds: float = IDLE_SECONDS) -> None:
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: Dict[Hashable, List[Tuple[float, Any]]] = {}
        self._pid = os.getpid()

    def take(self, key: Hashable) -> Optional[Any]:
        """An idle, still active connection for ``key`` (most recently used first), or None."""
        stale: List[Any] = []
        found: Optional[Any] = None
        now = time.monotonic()
        with self._lock:
            self._forget_after_fork()
            entries = self._idle.get(key, [])
            while entries:
                since, client = entries.pop()
                if now - since <= self.idle_seconds and _active(client):
                    found = client
                    break
                stale.append(client)
            if not entries:
                self._idle.pop(key, None)
        _close_all(stale)
        return found

    def give(self, key: Hashable, client: Any) -> bool:
        """Keep ``client`` for the next taker (True), or close it (dead, or pool full)."""
        now = time.monotonic()
        stale: List[Any] = []
        kept = False
        with self._lock:
            self._forget_after_fork()
            entries = self._idle.setdefault(key, [])
            fresh = [(since, c) for since, c in entries if now - since <= self.idle_seconds]
            stale += [c for since, c in entries if now - since > self.idle_seconds]
            if _active(client) and len(fresh) < self.max_idle:
                fresh.append((now, client))
                kept = True
            else:
                stale.append(client)
            self._idle[key] = fresh
        _close_all(stale)
        return kept

    def discard(self, key: Hashable) -> int:
        """Close every idle connection for ``key`` (one of them failed its alive check: the
        others were most likely made to the same, now gone, peer)."""
        with self._lock:
            clients = [c for _, c in self._idle.pop(key, [])]
        _close_all(clients)
        return len(clients)

    def clear(self) -> int:
        """Close every idle connection (interpreter exit, tests); how many there were."""
        with self._lock:
            clients = [c for entries in self._idle.values() for _, c in entries]
            self._idle.clear()
        _close_all(clients)
        return len(clients)

    def idle_count(self) -> int:
        """How many idle connections are kept (all keys)."""
        with self._lock:
            return sum(len(entries) for entries in self._idle.values())

    def _forget_after_fork(self) -> None:
        if self._pid != os.getpid():
            self._idle = {}
            self._pid = os.getpid()


POOL = ConnectionPool()
atexit.register(POOL.clear)


def close_idle_connections() -> int:
    """Close every pooled idle SSH connection of this process; how many were closed."""
    return POOL.clear()
