"""Unexpected-failover detection: events, the expected-moves ledger, the watcher.

Public API::

    diff_states(before, after, cluster, at) -> List[Event]         # events.py (pure)
    new_entry(...), covers(entry, event, now), classify(events, entries, now),
    Classifier                                                       # ledger.py
    ServiceLedgerStore(service), SqliteLedgerStore(path), MemoryLedgerStore()  # store.py
    ClusterPoller(cluster_config, ledger).poll_once() -> List[Dispatch]        # poller.py
    watch(cluster_config, interval, on_event, stop_event, ...), AlertListener # watcher.py
    pause_updates / rollback_updates (st2 API)                                # reaction.py
"""

from pacemaker_update.detect.events import CRITICAL, INFO, KINDS, WARNING, Event, diff_states
from pacemaker_update.detect.ledger import (
    OPERATIONS,
    Classifier,
    LedgerEntry,
    classify,
    covers,
    new_entry,
)
from pacemaker_update.detect.poller import (
    TRIGGER_EVENT,
    TRIGGER_REACHABLE,
    TRIGGER_UNEXPECTED,
    TRIGGER_UNREACHABLE,
    ClusterPoller,
    Dispatch,
)
from pacemaker_update.detect.store import (
    LedgerStore,
    LedgerStoreError,
    MemoryLedgerStore,
    ServiceLedgerStore,
    SqliteLedgerStore,
)

__all__ = [
    "CRITICAL", "INFO", "KINDS", "OPERATIONS", "TRIGGER_EVENT", "TRIGGER_REACHABLE",
    "TRIGGER_UNEXPECTED", "TRIGGER_UNREACHABLE", "WARNING", "Classifier", "ClusterPoller",
    "Dispatch", "Event", "LedgerEntry", "LedgerStore", "LedgerStoreError",
    "MemoryLedgerStore", "ServiceLedgerStore", "SqliteLedgerStore", "classify", "covers",
    "diff_states", "new_entry",
]
