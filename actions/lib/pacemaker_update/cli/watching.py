"""``watch`` and the failover watcher that runs beside an update run.

Both use :func:`pacemaker_update.detect.watcher.watch` (crm_mon polls, optional alert
listener, expected-moves ledger in the run store). ``watch`` prints every event; beside a
run, an ``unexpected_failover`` asks the engine to pause the run (once, first event wins).
"""

import argparse
import json
import signal
import sys
import threading
import time
from typing import IO, Any, Callable, Dict, Optional, Tuple

from pacemaker_update.cli.common import EXIT_OK, load_cluster, parse_listen
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError, RunStateError

TRIGGER_EVENT = "pacemaker_update.cluster_event"
TRIGGER_UNEXPECTED = "pacemaker_update.unexpected_failover"
LISTEN_WAIT = 10.0


def event_record(trigger: str, payload: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """One printable record per event; None for the unexpected_failover twin of an event."""
    if trigger == TRIGGER_UNEXPECTED:
        return None  # same payload as its cluster_event, already printed
    kind = payload.get("kind") or trigger.rsplit(".", 1)[-1]
    record = {
        "at": payload.get("at"),
        "kind": kind,
        "cluster": payload.get("cluster"),
        "resource": payload.get("resource"),
        "node": payload.get("node"),
        "expected": payload.get("expected") if trigger == TRIGGER_EVENT else None,
        "unexpected": _alarming(trigger, payload),
        "severity": payload.get("severity"),
        "source": payload.get("source"),
        "message": payload.get("message", ""),
        "trigger": trigger,
    }
    return record


def _alarming(trigger: str, payload: Dict[str, Any]) -> bool:
    if trigger != TRIGGER_EVENT:
        return False
    return payload.get("severity") != "info" and not payload.get("expected")


def format_event(record: Dict[str, Any]) -> str:
    """``time  kind  resource@node  expected|UNEXPECTED|info  message`` (one line)."""
    where = "@".join(x for x in (record.get("resource"), record.get("node")) if x) or "-"
    if record["trigger"] != TRIGGER_EVENT:
        judged = "-"
    elif record["unexpected"]:
        judged = "UNEXPECTED"
    else:
        judged = "expected" if record.get("expected") else "info"
    return "{}  {:<20} {:<28} {:<10} {}".format(
        record.get("at") or "-", record["kind"], where, judged, record.get("message", "")
    )


class EventPrinter:
    """Writes event records as text lines or JSON lines, flushed at once."""

    def __init__(self, stream: IO[str], as_json: bool, prefix: str = "") -> None:
        self.stream, self.as_json, self.prefix = stream, as_json, prefix

    def __call__(self, trigger: str, payload: Dict[str, Any]) -> None:
        record = event_record(trigger, payload)
        if record is None:
            return
        if self.as_json:
            line = json.dumps(record, sort_keys=True, default=str)
        else:
            line = self.prefix + format_event(record)
        self.stream.write(line + "\n")
        self.stream.flush()


def _check_interval(value: float, flag: str) -> float:
    if not value > 0:
        raise InvalidInputError(f"{flag} must be > 0 seconds, got {value}", code="INVALID_INTERVAL")
    return value


def cmd_watch(args: argparse.Namespace) -> int:
    """watch: print the cluster's events until Ctrl-C / SIGTERM (exit 0)."""
    from pacemaker_update.detect.watcher import watch
    from pacemaker_update.engine.store import default_state_dir

    interval = _check_interval(args.interval, "--interval")
    listen = parse_listen(args.listen)
    cluster = load_cluster(args.cluster, args.config)
    stop = threading.Event()
    printer = EventPrinter(sys.stdout, args.json)

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    def on_listening(url: str) -> None:
        sys.stderr.write(f"alert listener on {url}\n")
        sys.stderr.flush()

    sys.stderr.write(
        f"watching cluster {cluster.name} every {interval:g}s; Ctrl-C stops\n"
    )
    sys.stderr.flush()
    watch(
        cluster,
        interval,
        lambda d: printer(d.trigger, d.payload),
        stop,
        state_dir=args.state_dir or default_state_dir(),
        listen=listen,
        on_listening=on_listening,
    )
    sys.stderr.write("watch stopped\n")
    return EXIT_OK


class RunWatcher:
    """The failover watcher of one cluster in a daemon thread beside a run.

    The first ``unexpected_failover`` becomes the run's pause cause and a pause request
    (``engine.request_pause``); when it comes before the run row exists, the engine's
    stop flag pauses the run as soon as it starts and the cause is written afterwards.
    Once the run rests paused, ``stop`` gives the service back the node the run left in
    standby when it is the only one left to run it (detect/recovery.py) and writes what
    it did into the pause cause.
    """

    def __init__(
        self,
        engine: Any,
        cluster: Any,
        run_id: str,
        interval: float,
        listen: Optional[Tuple[str, int]] = None,
        stream: IO[str] = sys.stderr,
        watch_fn: Optional[Callable[..., None]] = None,
    ) -> None:
        self.engine, self.cluster, self.run_id = engine, cluster, run_id
        self.interval, self.listen = interval, listen
        self.stop_event = threading.Event()
        self.printer = EventPrinter(stream, False, prefix="watch: ")
        self.stream = stream
        self.cause: Optional[Dict[str, Any]] = None
        self.pending = False
        self.url: Optional[str] = None
        self.recovery: Optional[Dict[str, Any]] = None
        self.error: Optional[BaseException] = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._watch = watch_fn
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"pacemaker_update-run-watch-{cluster.name}"
        )

    def start(self) -> "RunWatcher":
        """Start watching; with a listener, wait until it is bound (or raise why not)."""
        self.thread.start()
        if self.listen is not None:
            self._ready.wait(LISTEN_WAIT)
            if self.error is not None:
                raise PacemakerUpdateError(
                    f"the failover watcher could not listen on "
                    f"{self.listen[0]}:{self.listen[1]}: {self.error}",
                    code="WATCH_FAILED",
                    hint="pick another --listen address, or --no-watch",
                )
        self.note(f"watching cluster {self.cluster.name} every {self.interval:g}s")
        return self

    def note(self, text: str) -> None:
        """A line on the progress stream."""
        self.stream.write(f"watch: {text}\n")
        self.stream.flush()

    def _run(self) -> None:
        from pacemaker_update.detect.watcher import watch

        watch_fn = self._watch or watch
        try:
            watch_fn(
                self.cluster,
                self.interval,
                self.on_dispatch,
                self.stop_event,
                state_dir=self.engine.state_dir,
                listen=self.listen,
                on_listening=self._listening,
            )
        except Exception as exc:  # noqa: BLE001 - reported; the run itself goes on
            self.error = exc
            self._ready.set()
            if not self.stop_event.is_set():
                self.note(f"stopped on an error, the run is no longer watched: {exc}")

    def _listening(self, url: str) -> None:
        self.url = url
        self.note(f"alert listener on {url}")
        self._ready.set()

    def on_dispatch(self, dispatch: Any) -> None:
        """Print every event; pause the run on the first unexpected failover."""
        self.printer(dispatch.trigger, dispatch.payload)
        if dispatch.trigger != TRIGGER_UNEXPECTED:
            return
        with self._lock:
            if self.cause is not None:
                return
            self.cause = {
                "kind": "unexpected_failover",
                "source": "watcher",
                "message": dispatch.payload.get("message", ""),
                "event": dict(dispatch.payload),
                "detected_at": time.time(),
            }
        try:
            done = self.engine.request_pause(self.run_id, cause=self.cause)
        except RunStateError as exc:
            if exc.code != "RUN_NOT_FOUND":
                return  # the run already ended
            self.pending = True
            self.engine.stop_event.set()
            done = "requested"
        self.note(f"unexpected failover: {self.cause['message']} -> pause {done}")

    def stop(self) -> None:
        """Stop the watcher and wait a little for its thread; then the service recovery."""
        self.stop_event.set()
        self.thread.join(timeout=5.0)
        try:
            self.recover()
        except Exception as exc:  # noqa: BLE001 - reported; the run's own result stands
            self.note(f"service recovery not attempted: {exc}")

    def recover(self) -> Optional[Dict[str, Any]]:
        """After this watcher paused the run: detect.recovery.recover_service, recorded.

        Runs once the run rests (the engine returned), so no step of the run is in flight;
        the recovery goes into the run's pause cause (``recovery`` and the message) and
        ``pending`` makes the CLI read the run again.
        """
        from pacemaker_update.detect.recovery import recover_service, run_tasks
        from pacemaker_update.detect.store import SqliteLedgerStore
        from pacemaker_update.engine.store import RunStore

        if self.cause is None or self.recovery is not None:
            return None
        store = RunStore(self.engine.state_dir)
        ledger = SqliteLedgerStore.in_state_dir(self.engine.state_dir)
        try:
            run = store.get_run(self.run_id)
            if run["status"] not in ("paused", "pausing"):
                return None
            self.recovery = recover_service(self.cluster, ledger, self.run_id,
                                            run_tasks(store, self.run_id))
            cause = dict(run.get("pause_cause") or self.cause)
            cause["recovery"] = self.recovery
            if self.recovery["action"] != "nothing":  # a person must read what was done
                cause["message"] = f"{cause.get('message', '')}; {self.recovery['message']}"
            store.update_run(self.run_id, pause_cause=cause)
            self.pending = True  # the run record changed after the engine returned
        finally:
            ledger.close_db()
            store.close()
        if self.recovery["action"] != "nothing":
            self.note(self.recovery["message"])
        return self.recovery

    def record_cause(self, store: Any) -> None:
        """Write a cause that arrived before the run existed into its record."""
        if self.pending and self.cause is not None:
            run = store.get_run(self.run_id)
            if run["status"] in ("paused", "pausing") and not run.get("pause_cause"):
                store.update_run(self.run_id, pause_cause=self.cause)
