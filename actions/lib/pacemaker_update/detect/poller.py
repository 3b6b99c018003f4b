"""One watched cluster: read crm_mon, diff with the last state, judge against the ledger.

``ClusterPoller.poll_once()`` is the whole detection step shared by the st2 sensor and the
embedded watcher. It returns :class:`Dispatch` items (trigger name + payload) and never
raises for a cluster problem: an unreachable cluster becomes ONE ``cluster_unreachable``
dispatch (and one ``cluster_reachable`` when it answers again), not one per poll.
"""

import contextlib
import datetime
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from pacemaker_update.detect.alerts import alert_to_events, parse_alert
from pacemaker_update.detect.events import Event, diff_states
from pacemaker_update.detect.ledger import Classifier
from pacemaker_update.detect.store import LedgerStore
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError
from pacemaker_update.state import ClusterState, parse_crm_mon_xml

TRIGGER_EVENT = "pacemaker_update.cluster_event"
TRIGGER_UNEXPECTED = "pacemaker_update.unexpected_failover"
TRIGGER_UNREACHABLE = "pacemaker_update.cluster_unreachable"
TRIGGER_REACHABLE = "pacemaker_update.cluster_reachable"
CRM_MON_ARGV = ["crm_mon", "-1", "--output-as=xml"]
DEDUP_SECONDS = 30.0
# Pacemaker runs node and fencing alerts on every node: one change, one POST per node,
# within a second or two. A later alert with the same fingerprint is the change happening
# again (the service moved back and away once more), never a copy.
ALERT_REPEAT_SECONDS = 5.0
# An alert may reach us a moment before crm_mon shows its change: such an alert is kept
# until the next poll pairs it (a duplicate dispatch is harmless, a swallowed one is not).
ALERT_CLOCK_SLACK = 1.0
# An alert is judged as of the moment Pacemaker saw its change (CRM_alert_timestamp_epoch,
# minus the slack above for the nodes' clocks), not as of its arrival: under load the agent's
# POST can come after the workflow verified its step and closed the ledger entry (seen on the
# lab: the re-probe's stop of the ping clone after start_pacemaker, judged unexpected). Never
# more than this far back, whatever the node's clock says.
ALERT_MAX_LOOKBACK = 10.0

TransportFactory = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Dispatch:
    """A trigger to fire: st2 trigger ref and its payload."""

    trigger: str
    payload: Dict[str, Any]


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _config_transport(cluster: Any, node: str) -> Any:
    return cluster.transport_for(node)


class ClusterPoller:
    """Detection state of one cluster (previous snapshot, reachability, recent events)."""

    def __init__(self, cluster: Any, ledger: Optional[LedgerStore] = None,
                 transport_factory: TransportFactory = _config_transport,
                 timeout: float = 10.0, argv: Optional[List[str]] = None) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self.factory = transport_factory
        self.timeout = timeout
        self.argv = list(argv or CRM_MON_ARGV)
        self.previous: Optional[ClusterState] = None
        self.previous_at: Optional[float] = None
        self.reachable: Optional[bool] = None
        self.classifier = Classifier()
        self.recent: Dict[str, Tuple[float, str]] = {}
        self.lock = threading.Lock()
        self.read_lock = threading.Lock()
        self._transports: Dict[str, Any] = {}
        self.last_node: Optional[str] = None

    # -- reading crm_mon --------------------------------------------------------
    def _transport(self, node: str) -> Any:
        if node not in self._transports:
            self._transports[node] = self.factory(self.cluster, node)
        return self._transports[node]

    def _drop(self, node: str) -> None:
        transport = self._transports.pop(node, None)
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            getattr(transport, "close", lambda: None)()

    def read_state(self) -> ClusterState:
        """crm_mon XML from the first node that answers (last good node first)."""
        names = list(self.cluster.node_names)
        if self.last_node in names:
            names.remove(self.last_node)
            names.insert(0, self.last_node)  # type: ignore[arg-type]
        errors: List[Dict[str, Any]] = []
        for node in names:
            try:
                result = self._transport(node).run(self.argv, timeout=self.timeout)
                if result.rc != 0:
                    raise PacemakerUpdateError(f"crm_mon exited {result.rc} on {node}",
                                               code="CRM_MON_FAILED")
                state = parse_crm_mon_xml(result.stdout)
                self.last_node = node
                return state
            except PacemakerUpdateError as exc:
                self._drop(node)
                errors.append({"node": node, "code": exc.code, "message": exc.message})
        raise PacemakerUpdateError(
            f"no node of cluster {self.cluster.name} answered crm_mon",
            code="CLUSTER_UNREACHABLE", details={"attempts": errors})

    # -- one detection step -----------------------------------------------------
    def poll_once(self, now: Optional[float] = None) -> List[Dispatch]:
        """Read, diff, classify; the triggers to fire (possibly none). Thread-safe."""
        # The SSH read happens outside ``lock``: an alert must never wait for a poll's
        # round trip (or its timeout on an unreachable node) before it is judged.
        with self.read_lock:  # one poll at a time, start to end
            at, started = _now_iso(), time.time() if now is None else now
            try:
                state = self.read_state()
            except PacemakerUpdateError as exc:
                with self.lock:
                    return self._unreachable(exc, at)
            with self.lock:
                out = self._reachable(at)
                before, self.previous = self.previous, state
                since, self.previous_at = self.previous_at, started
                if before is None:
                    return out
                events = diff_states(before, state, self.cluster.name, at)
                out += self.judge(events, now, since)
                self._forget_alerts_before(started - ALERT_CLOCK_SLACK)
                return out

    def judge(self, events: List[Event], now: Optional[float] = None,
              since: Optional[float] = None) -> List[Dispatch]:
        """Classify events against the ledger, drop repeats, build the dispatches.

        ``since``: for a poll, when the previous snapshot was read; for an alert, when its
        change happened (:func:`alert_since`). The changes happened after it, so an entry
        the workflow closed in between still covers them.
        """
        clock = time.time() if now is None else now
        entries = self._entries(clock, since)
        judged = self.classifier.classify(events, entries, clock, since)
        out: List[Dispatch] = []
        for event in judged:
            if self._seen(event, clock):
                continue
            payload = self.payload(event)
            out.append(Dispatch(TRIGGER_EVENT, payload))
            if event.alarming:
                out.append(Dispatch(TRIGGER_UNEXPECTED, payload))
        return out

    def _entries(self, clock: float, since: Optional[float] = None) -> List[Any]:
        if self.ledger is None:
            return []
        try:
            return self.ledger.open_entries(self.cluster.name, clock, since)
        except PacemakerUpdateError:
            return []  # no ledger = nothing expected: stricter, never laxer

    def _seen(self, event: Event, clock: float) -> bool:
        """True when this event is the other path's report of a change already reported.

        Two polls never report one change twice (each diff starts where the last ended),
        so a repeat is news unless it is the counterpart across the alert and poll paths
        (within DEDUP_SECONDS) or a copy of an alert from another node (within
        ALERT_REPEAT_SECONDS). A counterpart is consumed when it pairs: the same change
        seen later again is a new change, not the old one (a 30 s memory swallowed a
        service moved back and away again within 30 s, and the run was never paused).
        """
        for key in [k for k, (t, _) in self.recent.items() if clock - t > DEDUP_SECONDS]:
            del self.recent[key]
        key = event.fingerprint()
        previous = self.recent.get(key)
        if previous is not None and previous[1] != event.source:
            del self.recent[key]  # the counterpart pairs once
            return True
        self.recent[key] = (clock, event.source)
        return (previous is not None and event.source == "alert"
                and clock - previous[0] <= ALERT_REPEAT_SECONDS)

    def _forget_alerts_before(self, started: float) -> None:
        """Alerts received before a poll's read: that poll's diff covers their changes.

        Whatever kind the poll saw them as (a stop and start between two polls is a move),
        any later poll diff starts after them, so their memory could only swallow news.
        """
        for key in [k for k, (t, src) in self.recent.items()
                    if src == "alert" and t < started]:
            del self.recent[key]

    def payload(self, event: Event) -> Dict[str, Any]:
        """Event payload plus the cluster's reaction policy and chat route."""
        out = event.to_payload()
        policy = getattr(self.cluster, "on_unexpected_failover", "pause")
        out["on_unexpected_failover"] = "rollback" if policy == "rollback" else "pause"
        out["chat_route"] = getattr(self.cluster, "chat_route", None)
        return out

    def _unreachable(self, exc: PacemakerUpdateError, at: str) -> List[Dispatch]:
        if self.reachable is False:
            return []
        self.reachable = False
        return [Dispatch(TRIGGER_UNREACHABLE, {
            "cluster": self.cluster.name, "at": at, "code": exc.code, "message": exc.message,
            "attempts": exc.details.get("attempts", []),
            "chat_route": getattr(self.cluster, "chat_route", None)})]

    def _reachable(self, at: str) -> List[Dispatch]:
        was, self.reachable = self.reachable, True
        if was is not False:
            return []
        return [Dispatch(TRIGGER_REACHABLE, {
            "cluster": self.cluster.name, "at": at, "node": self.last_node,
            "message": f"cluster {self.cluster.name} answers again (via {self.last_node})",
            "chat_route": getattr(self.cluster, "chat_route", None)})]

    def close(self) -> None:
        """Close every open transport."""
        for node in list(self._transports):
            self._drop(node)

    def handle_alert(self, body: Any, now: Optional[float] = None) -> List[Dispatch]:
        """Judge one alert-agent message; InvalidInputError for a malformed one."""
        alert = parse_alert(body)
        if alert.get("cluster") not in (None, self.cluster.name):
            raise InvalidInputError(f"alert for cluster {alert.get('cluster')!r} sent to the "
                                    f"watcher of {self.cluster.name!r}", code="ALERT_WRONG_CLUSTER")
        clock = time.time() if now is None else now
        with self.lock:
            return self.judge(alert_to_events(alert, self.cluster.name, _now_iso()), clock,
                              alert_since(alert, clock))


def alert_since(alert: Dict[str, str], clock: float) -> Optional[float]:
    """When the alert's change happened, as ``since`` for :meth:`ClusterPoller.judge`: its
    epoch minus ALERT_CLOCK_SLACK, at most ALERT_MAX_LOOKBACK back; None when the alert
    carries no usable time (judged as of its arrival, as before)."""
    try:
        happened = float(alert["timestamp_epoch"]) + float(alert.get("timestamp_usec", 0)) / 1e6
    except (KeyError, ValueError):
        return None
    return min(clock, max(happened - ALERT_CLOCK_SLACK, clock - ALERT_MAX_LOOKBACK))
