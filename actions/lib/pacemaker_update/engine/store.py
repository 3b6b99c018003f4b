"""The run store: one SQLite file (WAL) under the state directory.

Holds what a run needs to survive a crash and what a person wants to see from
another terminal: runs, every task transition, the serialized conductor,
with-items results and in-flight actions (neither is in orquesta's state), a
pause/cancel request flag polled by the running process, the owner lock
(pid + process start time) and a small key-value table (st2kv, ledgers).
"""

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from typing import Any, Dict, Iterator, List, Optional

from pacemaker_update.errors import RunStateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, parent_id TEXT, root_id TEXT, workflow TEXT NOT NULL,
    params TEXT, status TEXT NOT NULL, requester TEXT,
    created_at REAL, started_at REAL, ended_at REAL, updated_at REAL,
    result TEXT, errors TEXT, conductor TEXT, request TEXT,
    owner_pid INTEGER, owner_start TEXT, timing TEXT, secrets TEXT, pause_cause TEXT);
CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_id);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, task_id TEXT NOT NULL,
    route INTEGER NOT NULL, item_id INTEGER, action TEXT, status TEXT NOT NULL,
    started_at REAL, ended_at REAL, duration REAL, action_time REAL, delay REAL,
    input TEXT, result TEXT, child_run TEXT);
CREATE INDEX IF NOT EXISTS tasks_run ON tasks(run_id);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL, task_id TEXT NOT NULL, route INTEGER NOT NULL,
    item_id INTEGER NOT NULL, status TEXT, result TEXT,
    PRIMARY KEY (run_id, task_id, route, item_id));
CREATE TABLE IF NOT EXISTS inflight (
    run_id TEXT NOT NULL, task_id TEXT NOT NULL, route INTEGER NOT NULL,
    item_id INTEGER NOT NULL, action TEXT, kind TEXT, child_run TEXT, started_at REAL,
    task_seq INTEGER, PRIMARY KEY (run_id, task_id, route, item_id));
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY, value TEXT, updated_at REAL);
"""

RUN_COLUMNS = (
    "id",
    "parent_id",
    "root_id",
    "workflow",
    "params",
    "status",
    "requester",
    "created_at",
    "started_at",
    "ended_at",
    "updated_at",
    "result",
    "errors",
    "request",
    "owner_pid",
    "owner_start",
    "timing",
    "pause_cause",
)
_JSON_COLUMNS = ("params", "result", "errors", "timing", "input", "pause_cause")
# Columns added after the first release: (name, type), added to older files on open.
_ADDED_COLUMNS = (("pause_cause", "TEXT"),)


def default_state_dir() -> str:
    """$XDG_STATE_HOME/pacemaker_update, else ~/.local/state/pacemaker_update."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "pacemaker_update")


def process_start_time(pid: int) -> Optional[str]:
    """Start time of a process (Linux /proc), so a recycled pid is not mistaken for us."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            data = handle.read()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()[19]


def process_alive(pid: Optional[int], start: Optional[str]) -> bool:
    """Whether the process that wrote (pid, start) still runs."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = process_start_time(pid)
    return start is None or current is None or current == start


class RunStore:
    """Thin typed access to the SQLite file; one connection per process."""

    def __init__(self, state_dir: Optional[str] = None) -> None:
        self.state_dir = state_dir or default_state_dir()
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.path = os.path.join(self.state_dir, "runs.sqlite")
        fresh = not os.path.exists(self.path)
        self.db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        if fresh:
            os.chmod(self.path, 0o600)
        self.db.row_factory = sqlite3.Row
        # switching to WAL takes an exclusive lock without waiting on the busy
        # handler: two processes opening the file at once got "database is
        # locked". The one-time setup is serialized by a lock file instead.
        with open(self.path + ".setup-lock", "a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        """Add columns newer than the file (a run store from an older release stays usable)."""
        have = {row["name"] for row in self.db.execute("PRAGMA table_info(runs)").fetchall()}
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                try:
                    self.db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so a crash never leaves the conductor and in-flight rows apart."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- runs -------------------------------------------------------------
    def create_run(self, run: Dict[str, Any]) -> None:
        """Insert a new run row (JSON columns are encoded here)."""
        row = _encode(run)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", list(row.values()))  # noqa: S608 - column names come from code

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Update some columns of a run; ``updated_at`` is set automatically."""
        fields["updated_at"] = time.time()
        row = _encode(fields)
        assigns = ", ".join(f"{k} = ?" for k in row)
        self.db.execute(f"UPDATE runs SET {assigns} WHERE id = ?", list(row.values()) + [run_id])  # noqa: S608 - column names come from code

    def get_run(self, run_id: str, with_state: bool = False) -> Dict[str, Any]:
        """A run as a dict (prefix match on the id, like git), or ``RunStateError``."""
        cols = ", ".join(RUN_COLUMNS + (("conductor", "secrets") if with_state else ()))
        rows = self.db.execute(
            f"SELECT {cols} FROM runs WHERE id = ? OR id LIKE ? ORDER BY id = ? DESC LIMIT 2",  # noqa: S608 - column names come from code
            (run_id, run_id + "%", run_id),
        ).fetchall()
        if not rows or (len(rows) > 1 and rows[0]["id"] != run_id):
            what = "ambiguous" if rows else "unknown"
            raise RunStateError(
                f"{what.capitalize()} run id {run_id!r}",
                code="RUN_NOT_FOUND",
                details={"run": run_id},
            )
        return _decode(rows[0])

    def list_runs(
        self, limit: int = 20, top_only: bool = True, statuses: Optional[List[str]] = None
    ) -> List[Dict[str, Any]]:
        """Most recent runs first."""
        where, args = [], []  # type: List[str], List[Any]
        if top_only:
            where.append("parent_id IS NULL")
        if statuses:
            where.append("status IN ({})".format(", ".join("?" for _ in statuses)))
            args.extend(statuses)
        sql = "SELECT {} FROM runs {} ORDER BY created_at DESC LIMIT ?".format(  # noqa: S608 - column names come from code
            ", ".join(RUN_COLUMNS), ("WHERE " + " AND ".join(where)) if where else ""
        )
        return [_decode(r) for r in self.db.execute(sql, args + [limit]).fetchall()]

    def child_runs(self, run_id: str) -> List[Dict[str, Any]]:
        """Subworkflow runs started by a run."""
        rows = self.db.execute(
            "SELECT {} FROM runs WHERE parent_id = ? ORDER BY created_at".format(  # noqa: S608 - column names come from code
                ", ".join(RUN_COLUMNS)
            ),
            (run_id,),
        ).fetchall()
        return [_decode(r) for r in rows]

    def save_conductor(self, run_id: str, state_text: str, status: str) -> None:
        """Persist the serialized conductor (already ``json.dumps``-ed: fast)."""
        self.db.execute(
            "UPDATE runs SET conductor = ?, status = ?, updated_at = ? WHERE id = ?",
            (state_text, status, time.time(), run_id),
        )

    def set_request(self, run_id: str, request: Optional[str]) -> None:
        """Ask the process driving a run to pause or cancel (polled between actions)."""
        self.db.execute("UPDATE runs SET request = ? WHERE id = ?", (request, run_id))

    def get_request(self, run_id: str) -> Optional[str]:
        """The pending pause/cancel request of a run, if any."""
        row = self.db.execute("SELECT request FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row["request"] if row else None

    def acquire_run(self, run_id: str) -> None:
        """Make this process the owner of a run, refusing if a live process owns it."""
        me, start = os.getpid(), process_start_time(os.getpid())
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT owner_pid, owner_start FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunStateError(f"Unknown run {run_id!r}", code="RUN_NOT_FOUND")
            pid = row["owner_pid"]
            if pid and pid != me and process_alive(pid, row["owner_start"]):
                raise RunStateError(
                    f"Run {run_id} is being driven by process {pid}",
                    code="RUN_LOCKED",
                    details={"run": run_id, "pid": pid},
                    hint="use pause/cancel to stop it, or wait for it to finish",
                )
            self.db.execute(
                "UPDATE runs SET owner_pid = ?, owner_start = ? WHERE id = ?", (me, start, run_id)
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def release_run(self, run_id: str) -> None:
        """Drop this process's ownership of a run."""
        self.db.execute(
            "UPDATE runs SET owner_pid = NULL, owner_start = NULL WHERE id = ? AND owner_pid = ?",
            (run_id, os.getpid()),
        )

    # -- tasks, items, in-flight actions ------------------------------------
    def add_task(self, row: Dict[str, Any]) -> int:
        """Record a task (or item) start; returns its sequence number."""
        enc = _encode(row)
        cur = self.db.execute(
            "INSERT INTO tasks ({}) VALUES ({})".format(  # noqa: S608 - column names come from code
                ", ".join(enc), ", ".join("?" for _ in enc)
            ),
            list(enc.values()),
        )
        return int(cur.lastrowid or 0)

    def finish_task(self, seq: int, **fields: Any) -> None:
        """Record the end of a task (status, times, result)."""
        enc = _encode(fields)
        self.db.execute(
            "UPDATE tasks SET {} WHERE seq = ?".format(", ".join(f"{k} = ?" for k in enc)),  # noqa: S608 - column names come from code
            list(enc.values()) + [seq],
        )

    def list_tasks(self, run_id: str) -> List[Dict[str, Any]]:
        """Every task transition of a run, in order."""
        rows = self.db.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY seq", (run_id,))
        return [_decode(r) for r in rows.fetchall()]

    def put_item(
        self, run_id: str, task_id: str, route: int, item_id: int, status: str, result: Any
    ) -> None:
        """Store the result of one with-items item."""
        self.db.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, task_id, route, item_id, status, json.dumps(result)),
        )

    def get_items(self, run_id: str, task_id: str, route: int) -> Dict[int, Any]:
        """Results of a with-items task by item id."""
        rows = self.db.execute(
            "SELECT item_id, result FROM items WHERE run_id = ? AND task_id = ? AND route = ?",
            (run_id, task_id, route),
        )
        return {r["item_id"]: json.loads(r["result"]) for r in rows.fetchall()}

    def clear_items(self, run_id: str, task_id: str, route: int) -> None:
        """Forget item results once the task completed (a retry starts afresh)."""
        self.db.execute(
            "DELETE FROM items WHERE run_id = ? AND task_id = ? AND route = ?",
            (run_id, task_id, route),
        )

    def put_inflight(self, row: Dict[str, Any]) -> None:
        """Record an action handed to a worker (re-run on resume after a crash)."""
        self.db.execute(
            "INSERT OR REPLACE INTO inflight ({}) VALUES ({})".format(  # noqa: S608 - column names come from code
                ", ".join(row), ", ".join("?" for _ in row)
            ),
            list(row.values()),
        )

    def drop_inflight(self, run_id: str, task_id: str, route: int, item_id: int) -> None:
        """Forget an in-flight action whose result reached the conductor."""
        self.db.execute(
            "DELETE FROM inflight WHERE run_id = ? AND task_id = ? AND route = ? AND item_id = ?",
            (run_id, task_id, route, item_id),
        )

    def list_inflight(self, run_id: str) -> List[Dict[str, Any]]:
        """Actions of a run that were started and never reported."""
        rows = self.db.execute(
            "SELECT * FROM inflight WHERE run_id = ? ORDER BY started_at", (run_id,)
        )
        return [dict(r) for r in rows.fetchall()]

    # -- key-value ----------------------------------------------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        """Value stored under ``key`` (JSON-decoded), or ``default``."""
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else default

    def kv_set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key``."""
        self.db.execute(
            "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, json.dumps(value), time.time())
        )

    def kv_delete(self, key: str) -> bool:
        """Delete a key; whether it existed."""
        return self.db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount > 0

    def kv_list(self, prefix: str = "") -> Dict[str, Any]:
        """All keys starting with ``prefix``."""
        # substr, not LIKE: '_' and '%' in a prefix are literal characters here
        rows = self.db.execute(
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return {r["key"]: json.loads(r["value"]) for r in rows.fetchall()}


def _encode(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        k: (json.dumps(v) if k in _JSON_COLUMNS and v is not None else v) for k, v in row.items()
    }


def _decode(row: sqlite3.Row) -> Dict[str, Any]:
    out = dict(row)
    for key in _JSON_COLUMNS:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out
