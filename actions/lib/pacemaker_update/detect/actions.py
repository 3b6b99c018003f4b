"""What the detection actions share: the ledger behind ``action_service``, alert judging.

Which storage an action uses is decided by what runs it, not by a setting: StackStorm
gives every python action an ``action_service`` whose datastore methods reach st2's
key-value store; the embedded runner gives one whose methods reach the ``kv`` table of its
SQLite run store (engine/actions.py ``ActionService``). Both get the same key names.
"""

import contextlib
import datetime
import json
import re
from typing import Any, Dict, List, Optional

from pacemaker_update.detect.alerts import alert_to_events, parse_alert
from pacemaker_update.detect.events import Event
from pacemaker_update.detect.ledger import Classifier
from pacemaker_update.detect.store import PACK, ServiceLedgerStore
from pacemaker_update.errors import InvalidInputError

_CLUSTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
REASON_TTL = 7 * 24 * 3600


def validate_cluster_name(name: Any) -> str:
    """A cluster name as the pack config allows it; InvalidInputError otherwise."""
    if not isinstance(name, str) or not _CLUSTER.match(name):
        raise InvalidInputError(f"invalid cluster name {name!r}", code="INVALID_CLUSTER",
                                details={"cluster": repr(name)[:80]})
    return name


def ledger_store(service: Any) -> ServiceLedgerStore:
    """The ledger reached through st2's (or the embedded runner's) action_service."""
    return ServiceLedgerStore(service)


def judge_alert(service: Any, cluster: str, body: Any) -> List[Event]:
    """The unexpected, alarming events an alert stands for (empty = nothing to do)."""
    alert = parse_alert(body)
    if alert.get("cluster") not in (None, cluster):
        raise InvalidInputError("the alert names another cluster", code="ALERT_WRONG_CLUSTER")
    at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    events = alert_to_events(alert, cluster, at)
    entries = ledger_store(service).open_entries(cluster) if events else []
    return [e for e in Classifier().classify(events, entries) if e.alarming]


def read_reason(service: Any, cluster: str) -> Optional[Dict[str, Any]]:
    """What :func:`record_reason` kept for ``cluster`` (None when nothing or unreadable)."""
    try:
        raw = service.get_value(f"{PACK}.pause_reason.{cluster}", local=True)
        value = json.loads(raw) if isinstance(raw, str) and raw else None
    except Exception:  # noqa: BLE001 - a datastore failure must not stop a window
        return None
    return value if isinstance(value, dict) else None


def record_reason(service: Any, cluster: str, result: Dict[str, Any]) -> None:
    """Keep why the update was paused where the report (and a person) can read it.

    Stored as ``pacemaker_update.pause_reason.<cluster>`` (JSON) for a week; a datastore
    failure never hides the pause itself.
    """
    if service is None or not result.get("paused"):
        return
    with contextlib.suppress(Exception):  # the pause happened; the note is best effort
        service.set_value(f"{PACK}.pause_reason.{cluster}", json.dumps(result),
                          ttl=REASON_TTL, local=True)
