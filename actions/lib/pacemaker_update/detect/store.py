"""Where ledger entries live: st2's datastore or the embedded runner's SQLite file.

One key layout for both, so a value written by an action is read by the watcher whatever
the mode: ``pacemaker_update.ledger.<cluster>.<run_id>.<step>`` holding the entry as JSON
text, set "pack-local" (st2 prefixes the pack name: ``pacemaker_update:<name>``).

- :class:`ServiceLedgerStore` uses an st2 service object (``action_service`` in actions,
  ``sensor_service`` in the sensor; the embedded runner hands actions an ``action_service``
  with the same methods, stored in its SQLite ``kv`` table). Values get a TTL in st2.
- :class:`SqliteLedgerStore` reads/writes that ``kv`` table directly (the embedded
  watcher runs beside, not inside, the runner): ``<state dir>/runs.sqlite``, key
  ``pacemaker_update:<name>``, value JSON-encoded as the runner's store does.
- :class:`MemoryLedgerStore` for tests and one-off use.

Expiry is always judged from the entry's own ``expires_at`` (the engine ignores TTLs).
"""

import abc
import json
import os
import sqlite3
import time
from typing import Any, Dict, List, Optional

from pacemaker_update.detect.ledger import LedgerEntry, close_entry
from pacemaker_update.errors import PacemakerUpdateError

PACK = "pacemaker_update"
PREFIX = PACK + ".ledger."
CLOSED_KEEP_SECONDS = 3600


class LedgerStoreError(PacemakerUpdateError):
    """The ledger storage cannot be used."""

    code = "LEDGER_UNAVAILABLE"


def entry_key(cluster: str, entry_id: str) -> str:
    """Datastore name (without the pack prefix) of one entry."""
    return f"{PREFIX}{cluster}.{entry_id}"


class LedgerStore(abc.ABC):
    """open / close / list entries of a cluster."""

    @abc.abstractmethod
    def put(self, entry: LedgerEntry) -> None:
        """Store (create or replace) an entry."""

    @abc.abstractmethod
    def get(self, cluster: str, entry_id: str) -> Optional[LedgerEntry]:
        """One entry by id, or None."""

    @abc.abstractmethod
    def list(self, cluster: str) -> List[LedgerEntry]:
        """Every stored entry of a cluster (open, closed and expired)."""

    def open(self, entry: LedgerEntry) -> LedgerEntry:
        """Record an entry the workflow is about to rely on."""
        self.put(entry)
        return entry

    def close(self, cluster: str, entry_id: str,
              now: Optional[float] = None) -> Optional[LedgerEntry]:
        """Mark an entry closed (kept a while for the report); None when unknown."""
        entry = self.get(cluster, entry_id)
        if entry is None:
            return None
        closed = close_entry(entry, now)
        self.put(closed)
        return closed

    def open_entries(self, cluster: str, now: Optional[float] = None,
                     since: Optional[float] = None) -> List[LedgerEntry]:
        """Entries of a cluster open at ``now`` (or, with ``since``, at any time since)."""
        clock = time.time() if now is None else now
        start = clock if since is None else since
        return [e for e in self.list(cluster) if e.open_during(start, clock)]


def _ttl(entry: LedgerEntry) -> int:
    end = entry.expires_at if entry.closed_at is None else entry.closed_at + CLOSED_KEEP_SECONDS
    return max(1, int(end - time.time()) + 60)


def _decode(text: Any) -> Optional[LedgerEntry]:
    try:
        data = json.loads(text) if isinstance(text, str) else text
        return LedgerEntry.from_dict(data) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


class MemoryLedgerStore(LedgerStore):
    """Entries in a dict (tests, single process)."""

    def __init__(self) -> None:
        self.values: Dict[str, str] = {}

    def put(self, entry: LedgerEntry) -> None:
        """Store an entry."""
        self.values[entry_key(entry.cluster, entry.id)] = json.dumps(entry.to_dict())

    def get(self, cluster: str, entry_id: str) -> Optional[LedgerEntry]:
        """One entry by id."""
        return _decode(self.values.get(entry_key(cluster, entry_id)))

    def list(self, cluster: str) -> List[LedgerEntry]:
        """Entries of a cluster."""
        head = f"{PREFIX}{cluster}."
        found = [_decode(v) for k, v in sorted(self.values.items()) if k.startswith(head)]
        return [e for e in found if e is not None]


class ServiceLedgerStore(LedgerStore):
    """Through st2's action_service / sensor_service datastore methods."""

    def __init__(self, service: Any) -> None:
        if service is None or not callable(getattr(service, "set_value", None)):
            raise LedgerStoreError("no StackStorm datastore service is available",
                                   hint="run inside StackStorm or the embedded runner")
        self.service = service

    def put(self, entry: LedgerEntry) -> None:
        """Store with a TTL so a forgotten entry disappears from st2 by itself."""
        self.service.set_value(entry_key(entry.cluster, entry.id),
                               json.dumps(entry.to_dict()), ttl=_ttl(entry), local=True)

    def get(self, cluster: str, entry_id: str) -> Optional[LedgerEntry]:
        """One entry by id."""
        return _decode(self.service.get_value(entry_key(cluster, entry_id), local=True))

    def list(self, cluster: str) -> List[LedgerEntry]:
        """Entries of a cluster (needs ``list_values``, which st2's services have)."""
        lister = getattr(self.service, "list_values", None)
        if lister is None:
            raise LedgerStoreError("this datastore service cannot list keys",
                                   code="LEDGER_CANNOT_LIST")
        items = lister(local=True, prefix=f"{PREFIX}{cluster}.") or []
        found = [_decode(getattr(i, "value", None) if not isinstance(i, dict)
                         else i.get("value")) for i in items]
        return [e for e in found if e is not None and e.cluster == cluster]


class SqliteLedgerStore(LedgerStore):
    """The embedded runner's ``runs.sqlite`` ``kv`` table, opened directly."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("CREATE TABLE IF NOT EXISTS kv "
                            "(key TEXT PRIMARY KEY, value TEXT, updated_at REAL)")
        except sqlite3.Error as exc:
            raise LedgerStoreError(f"cannot open the ledger database {path}: {exc}",
                                   details={"path": path}) from exc

    @classmethod
    def in_state_dir(cls, state_dir: str) -> "SqliteLedgerStore":
        """The store of the runner whose state directory is ``state_dir``."""
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        return cls(os.path.join(state_dir, "runs.sqlite"))

    def _key(self, cluster: str, entry_id: str) -> str:
        return f"{PACK}:{entry_key(cluster, entry_id)}"

    def put(self, entry: LedgerEntry) -> None:
        """Store as the runner's ActionService would (JSON of the JSON text)."""
        text = json.dumps(json.dumps(entry.to_dict()))
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)",
                        (self._key(entry.cluster, entry.id), text, time.time()))

    def get(self, cluster: str, entry_id: str) -> Optional[LedgerEntry]:
        """One entry by id."""
        row = self.db.execute("SELECT value FROM kv WHERE key = ?",
                              (self._key(cluster, entry_id),)).fetchone()
        return _decode(json.loads(row[0])) if row else None

    def list(self, cluster: str) -> List[LedgerEntry]:
        """Entries of a cluster."""
        head = f"{PACK}:{PREFIX}{cluster}."
        rows = self.db.execute("SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? "
                               "ORDER BY key", (len(head), head)).fetchall()
        found = [_decode(json.loads(value)) for _, value in rows]
        return [e for e in found if e is not None]

    def purge(self, now: Optional[float] = None) -> int:
        """Delete entries expired (or closed) for more than an hour; how many."""
        clock = time.time() if now is None else now
        gone = 0
        rows = self.db.execute("SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?",
                               (len(PACK) + 1 + len(PREFIX), f"{PACK}:{PREFIX}")).fetchall()
        for key, value in rows:
            entry = _decode(json.loads(value))
            end = None if entry is None else (entry.closed_at or entry.expires_at)
            if end is None or end + CLOSED_KEEP_SECONDS < clock:
                gone += self.db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount
        return gone

    def close_db(self) -> None:
        """Close the connection."""
        self.db.close()
