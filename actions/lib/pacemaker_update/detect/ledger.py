"""The expected-moves ledger: what a running update is about to cause, and until when.

Before a step that moves resources (standby, stop pacemaker, failover, failback, leaving
maintenance...) the workflow opens an entry; when the step is verified it closes it.
``classify`` marks each event ``expected`` when an open entry covers it. What an entry
covers is decided by its ``operation`` (table ``OPERATIONS``):

- ``direction = leave``: resources (all, or ``resources``) may LEAVE ``node`` for
  ``destinations`` (None = anywhere); an arrival elsewhere is covered only for a resource
  whose departure from ``node`` this entry already covered, or that it names.
- ``direction = return``: resources may ARRIVE on ``node`` (and leave wherever they were).
- ``node_kinds``: node-level events of ``node`` itself (e.g. ``node_standby``).

Never covered by any entry: a crash (``node_unclean``), fencing, a failed action or failed
resource, and quorum loss (except while the whole cluster is being stopped). An entry for
node N never covers a resource moving between two other nodes.

Entries are stored through a :class:`LedgerBackend` as JSON text under
``pacemaker_update.ledger.<cluster>.<entry id>`` (see ``store.py``).
"""

import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from pacemaker_update.detect.events import Event
from pacemaker_update.errors import InvalidInputError

LEAVE, RETURN, NONE = "leave", "return", "none"
_NEVER = frozenset(["node_unclean", "fencing", "failed_action", "resource_failed"])
_ID_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


@dataclass(frozen=True)
class Operation:
    """How an update step moves things: resource direction and the node-level kinds."""

    direction: str
    node_kinds: Tuple[str, ...] = ()
    cluster_kinds: Tuple[str, ...] = ()
    # Leaving maintenance re-probes the node's resources: crm_mon shows them stopped until
    # the probe answers. Such a stop ON the node is part of the step (the exit guard has
    # already simulated that nothing will stop, start or move; a real failure shows up as a
    # failed action, which no entry covers).
    reprobe: bool = False


OPERATIONS: Dict[str, Operation] = {
    "standby": Operation(LEAVE, ("node_standby",)),
    "unstandby": Operation(RETURN, ("node_unstandby",)),
    "stop_pacemaker": Operation(LEAVE, ("node_offline",), ("dc_changed",)),
    "start_pacemaker": Operation(RETURN, ("node_online",), ("dc_changed",)),
    "node_maintenance": Operation(NONE, ("node_maintenance",)),
    "node_ready": Operation(RETURN, ("node_ready",), reprobe=True),
    "failover": Operation(LEAVE, ("node_standby", "node_unstandby")),
    "failback": Operation(LEAVE, ("node_standby", "node_unstandby")),
    "cluster_maintenance": Operation(NONE, (), ("cluster_maintenance",)),
    "cluster_ready": Operation(RETURN, (), ("cluster_ready",)),
    "cluster_stop": Operation(LEAVE, ("node_offline",), ("dc_changed", "quorum_lost")),
    "cluster_start": Operation(RETURN, ("node_online",), ("dc_changed", "quorum_regained")),
    # rollback's move of every resource back where a snapshot had them: from wherever it
    # runs to wherever the snapshot says, on any node. The failback op moves them by a
    # standby + online of the node they run on, which is known only when it runs: that pair
    # is covered on any node (seen on the lab); a node lost or failing never is.
    "cluster_restore": Operation(RETURN, ("node_standby", "node_unstandby")),
}


@dataclass(frozen=True)
class LedgerEntry:
    """One open (or closed) promise: "this step may cause these moves until expires_at"."""

    cluster: str
    run_id: str
    step: str
    operation: str
    node: Optional[str]
    resources: Optional[Tuple[str, ...]]
    destinations: Optional[Tuple[str, ...]]
    opened_at: float
    expires_at: float
    closed_at: Optional[float] = None
    note: str = ""
    extra_kinds: Tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """Stable id: one entry per (run, step)."""
        return f"{self.run_id}.{self.step}"

    def is_open(self, now: float) -> bool:
        """Open = not closed and not expired."""
        return self.closed_at is None and now < self.expires_at

    def open_during(self, since: float, until: float) -> bool:
        """Whether the entry was open at some moment of ``[since, until]``.

        A poll sees a change somewhere between the previous snapshot (``since``) and now:
        the workflow may have verified its step and closed the entry in between, so an
        entry closed after ``since`` still covers what that poll sees.
        """
        if since >= until:
            return self.is_open(until)
        return since < self.expires_at and (self.closed_at is None or self.closed_at >= since)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["id"] = self.id
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "LedgerEntry":
        """Rebuild an entry stored by :meth:`to_dict` (unknown keys ignored)."""
        def tup(value: Any) -> Optional[Tuple[str, ...]]:
            return None if value is None else tuple(str(v) for v in value)
        return cls(cluster=str(data["cluster"]), run_id=str(data["run_id"]),
                   step=str(data["step"]), operation=str(data["operation"]),
                   node=data.get("node"), resources=tup(data.get("resources")),
                   destinations=tup(data.get("destinations")),
                   opened_at=float(data["opened_at"]), expires_at=float(data["expires_at"]),
                   closed_at=data.get("closed_at"), note=str(data.get("note", "")),
                   extra_kinds=tup(data.get("extra_kinds")) or ())


def validate_id_part(value: Any, field_name: str) -> str:
    """A run id or step name safe to use inside a datastore key; else InvalidInputError."""
    if not isinstance(value, str) or not _ID_PART.match(value):
        raise InvalidInputError(
            f"{field_name} must be 1-128 letters, digits, '_', '.', ':', '@' or '-', "
            f"got {value!r}", code="INVALID_LEDGER_FIELD", details={"field": field_name})
    return value


def new_entry(cluster: str, run_id: str, step: str, operation: str, node: Optional[str],
              resources: Optional[Sequence[str]] = None,
              destinations: Optional[Sequence[str]] = None, ttl: float = 900,
              now: Optional[float] = None, note: str = "") -> LedgerEntry:
    """Validate and build an entry open from ``now`` for ``ttl`` seconds."""
    if operation not in OPERATIONS:
        raise InvalidInputError(f"unknown operation {operation!r} (known: "
                                f"{', '.join(sorted(OPERATIONS))})", code="INVALID_OPERATION",
                                details={"operation": operation})
    if node is None and not operation.startswith("cluster_"):
        raise InvalidInputError(f"operation {operation} needs a node", code="MISSING_NODE")
    if not (isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and 0 < ttl <= 86400):
        raise InvalidInputError(f"ttl must be 1..86400 seconds, got {ttl!r}",
                                code="INVALID_TTL", details={"ttl": ttl})
    start = time.time() if now is None else now
    return LedgerEntry(
        cluster=cluster, run_id=validate_id_part(run_id, "run_id"),
        step=validate_id_part(step, "step"), operation=operation, node=node,
        resources=None if resources is None else tuple(resources),
        destinations=None if destinations is None else tuple(destinations),
        opened_at=start, expires_at=start + float(ttl), note=note)


def _names_resource(entry: LedgerEntry, event: Event) -> bool:
    return entry.resources is None or bool({event.resource, event.parent} & set(entry.resources))


def _destination_ok(entry: LedgerEntry, node: Optional[str]) -> bool:
    return node is None or entry.destinations is None or node in entry.destinations


def covers(entry: LedgerEntry, event: Event, now: float,
           departed: Optional[Set[Tuple[str, str]]] = None,
           since: Optional[float] = None) -> bool:
    """Whether ``entry`` (open at ``now``, or at some time since ``since``) makes ``event``
    expected.

    ``departed`` holds (entry id, resource) pairs whose departure this entry already
    covered: an arrival elsewhere of such a resource is the other half of the same move.
    ``since`` is when the previous snapshot was taken (the change happened after it).
    """
    is_open = entry.is_open(now) if since is None else entry.open_during(since, now)
    if entry.cluster != event.cluster or not is_open or event.kind in _NEVER:
        return False
    op = OPERATIONS[entry.operation]
    if event.kind in op.cluster_kinds + entry.extra_kinds:
        return True
    if event.resource is None or event.kind in ("resource_failed",):
        return event.kind in op.node_kinds and (entry.node is None or event.node == entry.node)
    return _covers_resource(entry, op, event, departed or set())


def _covers_resource(entry: LedgerEntry, op: Operation, event: Event,
                     departed: Set[Tuple[str, str]]) -> bool:
    if not _names_resource(entry, event) and op.direction != LEAVE:
        return False
    node = entry.node
    if op.direction == LEAVE:
        if event.from_node is not None and (node is None or event.from_node == node):
            # a stop (to_node None) leaves too; only an arrival on the node itself does not
            return (_names_resource(entry, event) and (node is None or event.to_node != node)
                    and _destination_ok(entry, event.to_node))
        if event.from_node is None and event.to_node is not None and event.to_node != node:
            known = (entry.id, event.resource or "") in departed or entry.resources is not None
            return known and _names_resource(entry, event) and _destination_ok(
                entry, event.to_node)
        return False
    if op.direction == RETURN:
        return node is None or event.to_node == node or (
            event.to_node is None and (event.from_node != node or op.reprobe))
    return False


class Classifier:
    """Stateful ``classify`` for one watched cluster: remembers across polls.

    - ``departed``: (entry id, resource) pairs whose departure an entry covered, so the
      arrival half of the move, seen in a later poll, is covered too;
    - ``tainted``: nodes seen crashed, fenced or failing (or going offline unannounced):
      departures from them are never expected until the node is online again, so an entry
      for node N's standby does not excuse what N's crash causes.
    """

    def __init__(self) -> None:
        self.departed: Set[Tuple[str, str]] = set()
        self.tainted: Set[str] = set()

    def classify(self, events: Sequence[Event], entries: Sequence[LedgerEntry],
                 now: Optional[float] = None, since: Optional[float] = None) -> List[Event]:
        """Mark each event expected (with the covering entry id) or unexpected.

        Node-level events first, then departures, then arrivals, so both halves of one
        move seen in one poll are judged together. ``since``: see :func:`covers`.
        """
        clock = time.time() if now is None else now
        def rank(event: Event) -> int:
            return 0 if event.resource is None else (1 if event.from_node else 2)
        order = sorted(range(len(events)), key=lambda i: rank(events[i]))
        out: Dict[int, Event] = {}
        for index in order:
            out[index] = self._judge(events[index], entries, clock, since)
        return [out[i] for i in range(len(events))]

    def _judge(self, event: Event, entries: Sequence[LedgerEntry], clock: float,
               since: Optional[float] = None) -> Event:
        if event.kind == "node_online" and event.node:
            self.tainted.discard(event.node)
        hit = None
        if event.from_node not in self.tainted or event.resource is None:
            hit = next((e for e in entries if covers(e, event, clock, self.departed, since)), None)
        if hit is None and event.kind in _NEVER | {"node_offline"} and event.from_node:
            self.tainted.add(event.from_node)
        if hit is not None and event.from_node is not None and event.resource:
            self.departed.add((hit.id, event.resource))
        return replace(event, expected=hit is not None,
                       ledger_entry=hit.id if hit is not None else None)


def classify(events: Sequence[Event], entries: Sequence[LedgerEntry],
             now: Optional[float] = None) -> List[Event]:
    """One-shot classification (a fresh :class:`Classifier`): pure given ``now``."""
    return Classifier().classify(events, entries, now)


def close_entry(entry: LedgerEntry, now: Optional[float] = None) -> LedgerEntry:
    """The entry marked closed at ``now``."""
    return replace(entry, closed_at=time.time() if now is None else now)
