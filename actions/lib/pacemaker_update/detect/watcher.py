"""The embedded watcher: poll one cluster, push alerts in, report every event.

Used by ``pacemaker-update watch --cluster NAME`` (print events) and beside
``pacemaker-update run`` (pause the run on an unexpected event)::

    stop = threading.Event()
    watch(cluster_config, interval=5, on_event=callback, stop_event=stop,
          state_dir=engine.state_dir, listen=("127.0.0.1", 8765))

``on_event(dispatch)`` gets every :class:`Dispatch` (``trigger`` is the st2 trigger ref,
``payload`` the same dict the st2 sensor dispatches); it is called from the watcher
thread and from the alert listener's thread, one call at a time.
"""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Optional, Tuple

from pacemaker_update.detect.poller import ClusterPoller, Dispatch, TransportFactory
from pacemaker_update.detect.store import LedgerStore, SqliteLedgerStore
from pacemaker_update.errors import InvalidInputError

ALERT_PATH = "/alert"
MAX_BODY = 16 * 1024
LOG = logging.getLogger("pacemaker_update.detect.watcher")

AlertHandler = Callable[[Dict[str, Any]], None]


class AlertListener:
    """A tiny HTTP server taking the alert agent's POSTs (JSON) for some clusters.

    Binds to loopback by default; ``token`` (optional) must match the ``St2-Api-Key``
    header the agent sends. Answers 202 at once: the work happens in the handler.
    """

    def __init__(self, handlers: Dict[str, AlertHandler], host: str = "127.0.0.1",
                 port: int = 0, token: Optional[str] = None) -> None:
        self.handlers, self.token = handlers, token
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.thread: Optional[threading.Thread] = None

    @property
    def address(self) -> Tuple[str, int]:
        """(host, port) actually bound."""
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The recipient URL to give ``install_alert_agent``."""
        host, port = self.address
        return f"http://{host}:{port}{ALERT_PATH}"

    def start(self) -> "AlertListener":
        """Serve in a daemon thread."""
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="pacemaker_update-alert-listener")
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if started) and release the port."""
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()

    def _handler_class(self) -> Any:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(listener.accept(self.path, self.headers, self.rfile))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                LOG.debug("alert listener: " + format, *args)

        return Handler

    def accept(self, path: str, headers: Any, stream: Any) -> int:
        """Validate one request and hand the alert to its cluster's handler; HTTP status."""
        if path.split("?", 1)[0] != ALERT_PATH:
            return 404
        if self.token is not None and headers.get("St2-Api-Key") != self.token:
            return 401
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            return 400
        if length <= 0 or length > MAX_BODY:
            return 413 if length > MAX_BODY else 400
        try:
            body = json.loads(stream.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 400
        handler = self.handlers.get(str(body.get("cluster"))) if isinstance(body, dict) else None
        if handler is None:
            return 404
        try:
            handler(body)
        except InvalidInputError as exc:
            LOG.warning("alert refused: %s", exc)
            return 400
        return 202


def watch(cluster_config: Any, interval: float, on_event: Callable[[Dispatch], None],
          stop_event: threading.Event, state_dir: Optional[str] = None,
          ledger: Optional[LedgerStore] = None, listen: Optional[Tuple[str, int]] = None,
          token: Optional[str] = None,
          transport_factory: Optional[TransportFactory] = None,
          on_listening: Optional[Callable[[str], None]] = None) -> None:
    """Watch ``cluster_config`` until ``stop_event`` is set; report through ``on_event``.

    The ledger is ``ledger``, else the runner's SQLite file in ``state_dir`` (the same
    entries ``record_expected_moves`` writes there), else none (every move unexpected).
    With ``listen=(host, port)`` an alert listener runs too (its URL goes to
    ``on_listening``); each alert is judged at once and triggers an immediate poll.
    """
    if not (isinstance(interval, (int, float)) and interval > 0):
        raise InvalidInputError(f"interval must be > 0 seconds, got {interval!r}",
                                code="INVALID_INTERVAL")
    if ledger is None and state_dir is not None:
        ledger = SqliteLedgerStore.in_state_dir(state_dir)
    kwargs = {"transport_factory": transport_factory} if transport_factory else {}
    poller = ClusterPoller(cluster_config, ledger, **kwargs)  # type: ignore[arg-type]
    wake, emit_lock = threading.Event(), threading.Lock()

    def emit(dispatches: Any) -> None:
        with emit_lock:
            for item in dispatches:
                on_event(item)

    def on_alert(body: Dict[str, Any]) -> None:
        emit(poller.handle_alert(body))
        wake.set()

    listener = None
    if listen is not None:
        listener = AlertListener({cluster_config.name: on_alert}, listen[0], listen[1],
                                 token).start()
        if on_listening is not None:
            on_listening(listener.url)
    try:
        _loop(poller, interval, emit, stop_event, wake)
    finally:
        if listener is not None:
            listener.stop()
        poller.close()


def _loop(poller: ClusterPoller, interval: float, emit: Callable[[Any], None],
          stop_event: threading.Event, wake: threading.Event) -> None:
    """Poll, then sleep ``interval`` unless an alert or ``stop_event`` cuts the wait short."""
    while not stop_event.is_set():
        emit(poller.poll_once())
        deadline = time.monotonic() + interval
        while not stop_event.is_set() and not wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wake.wait(min(left, 0.1))
        wake.clear()
