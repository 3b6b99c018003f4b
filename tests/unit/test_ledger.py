"""The expected-moves ledger: entries, expiry, the three stores, and the two actions.

The SQLite case uses the embedded runner's REAL run store (engine/store.py RunStore) and
its ActionService: what record_expected_moves writes there is what the watcher reads.
"""

import json
from pathlib import Path

import pytest
from helpers.actions import action_class
from pacemaker_update.detect import (
    LedgerEntry,
    LedgerStoreError,
    MemoryLedgerStore,
    ServiceLedgerStore,
    SqliteLedgerStore,
    new_entry,
)
from pacemaker_update.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[2]


class FakeService:
    """st2's datastore methods (get/set/delete/list_values with local=True prefixing)."""

    def __init__(self):
        self.data, self.ttls = {}, {}

    def set_value(self, name, value, ttl=None, local=True, **_):
        assert isinstance(value, str), "st2 stores strings"
        self.data["pacemaker_update:" + name] = value
        self.ttls["pacemaker_update:" + name] = ttl
        return True

    def get_value(self, name, local=True, **_):
        return self.data.get("pacemaker_update:" + name)

    def list_values(self, local=True, prefix=None):
        head = "pacemaker_update:" + (prefix or "")
        return [type("KVP", (), {"name": k, "value": v})()
                for k, v in sorted(self.data.items()) if k.startswith(head)]


def test_entry_expires_and_closes():
    entry = new_entry("lab", "run1", "standby_server1", "standby", "server1", ttl=60, now=100)
    assert entry.id == "run1.standby_server1"
    assert entry.is_open(159) and not entry.is_open(160)
    assert LedgerEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry


@pytest.mark.parametrize("kwargs,code", [
    ({"operation": "reboot"}, "INVALID_OPERATION"),
    ({"run_id": "a b"}, "INVALID_LEDGER_FIELD"),
    ({"step": "x;rm"}, "INVALID_LEDGER_FIELD"),
    ({"ttl": 0}, "INVALID_TTL"),
    ({"node": None}, "MISSING_NODE"),
])
def test_bad_entries_are_refused_with_a_code(kwargs, code):
    args = {"cluster": "lab", "run_id": "r", "step": "s", "operation": "standby",
            "node": "server1"}
    args.update(kwargs)
    with pytest.raises(InvalidInputError) as err:
        new_entry(**args)
    assert err.value.code == code


@pytest.mark.parametrize("make", ["memory", "service", "sqlite"])
def test_stores_open_close_list_and_expiry(make, tmp_path):
    store = {"memory": MemoryLedgerStore, "service": lambda: ServiceLedgerStore(FakeService()),
             "sqlite": lambda: SqliteLedgerStore(str(tmp_path / "runs.sqlite"))}[make]()
    a = store.open(new_entry("lab", "r1", "a", "standby", "server1", ttl=100, now=0))
    store.open(new_entry("lab", "r1", "b", "standby", "server2", ttl=10, now=0))
    store.open(new_entry("other", "r1", "a", "standby", "server1", ttl=100, now=0))
    assert [e.id for e in store.open_entries("lab", now=5)] == ["r1.a", "r1.b"]
    assert [e.id for e in store.open_entries("lab", now=50)] == ["r1.a"]  # b expired
    closed = store.close("lab", "r1.a", now=6)
    assert closed.closed_at == 6 and store.get("lab", a.id).closed_at == 6
    assert store.open_entries("lab", now=7) == [store.get("lab", "r1.b")]
    assert store.close("lab", "nope.nope") is None


def test_service_store_sets_a_ttl_and_needs_a_service():
    service = FakeService()
    ServiceLedgerStore(service).open(new_entry("lab", "r", "s", "standby", "server1", ttl=600))
    (key, ttl), = service.ttls.items()
    assert key == "pacemaker_update:pacemaker_update.ledger.lab.r.s" and 600 <= ttl <= 700
    with pytest.raises(LedgerStoreError):
        ServiceLedgerStore(None)


def test_record_and_close_actions_through_the_embedded_runner_store(tmp_path):
    """Actions get the engine's ActionService (real SQLite kv); the watcher reads the file."""
    engine_store = pytest.importorskip("pacemaker_update.engine.store")
    engine_actions = pytest.importorskip("pacemaker_update.engine.actions")
    runs = engine_store.RunStore(str(tmp_path))
    service = engine_actions.ActionService(runs.kv_get, runs.kv_set, runs.kv_delete,
                                           "pacemaker_update")
    record, close = action_class("record_expected_moves"), action_class("close_expected_moves")
    ok, out = record(config={}, action_service=service).run(
        cluster="lab", run_id="abc123", step="standby_server1", operation="standby",
        node="server1", destinations=["server2"], ttl=300)
    assert ok, out
    watcher_view = SqliteLedgerStore.in_state_dir(str(tmp_path))
    (entry,) = watcher_view.open_entries("lab")
    assert (entry.node, entry.destinations, entry.operation) == ("server1", ("server2",),
                                                                 "standby")
    ok, out = close(config={}, action_service=service).run(
        cluster="lab", run_id="abc123", step="standby_server1")
    assert ok and out["closed"]["closed_at"] is not None
    assert watcher_view.open_entries("lab") == []


def test_record_action_refuses_bad_input_before_storing():
    service = FakeService()
    record = action_class("record_expected_moves")(config={}, action_service=service)
    ok, out = record.run(cluster="lab", run_id="r", step="s", operation="standby",
                         node="server1; reboot")
    assert not ok and out["error"]["code"] == "INVALID_INPUT" and service.data == {}
    ok, out = record.run(cluster="../x", run_id="r", step="s", operation="standby",
                         node="server1")
    assert not ok and out["error"]["code"] == "INVALID_CLUSTER"
    ok, out = action_class("record_expected_moves")(config={}, action_service=None).run(
        cluster="lab", run_id="r", step="s", operation="standby", node="server1")
    assert not ok and out["error"]["code"] == "LEDGER_UNAVAILABLE"


class _Snapshots:
    """A transport double answering recorded REAL crm_mon XML, one file per poll."""

    def __init__(self, *names):
        self.names = list(names)

    def __call__(self, cluster, node):
        snapshots = self

        class Transport:
            def run(self, argv, timeout=None, **_):
                name = snapshots.names.pop(0) if len(snapshots.names) > 1 else snapshots.names[0]
                text = (ROOT / "tests" / "fixtures" / "crm_mon" / f"{name}.xml").read_text()
                return type("Result", (), {"rc": 0, "stdout": text, "stderr": ""})()

            def close(self):
                pass

        return Transport()


def _lab_cluster():
    from pacemaker_update.config import load_config
    return load_config({"clusters": {"lab": {"nodes": [
        {"name": "server1", "address": "10.0.0.1"},
        {"name": "server2", "address": "10.0.0.2"}]}}}).cluster("lab")


@pytest.mark.parametrize("closed_at, unexpected", [
    (150, []),   # closed after the previous snapshot (100): the step may have caused it
    (90, ["node_standby", "resource_moved", "resource_moved", "resource_stopped"]),
])
def test_an_entry_closed_between_two_polls_covers_what_the_second_poll_sees(
        closed_at, unexpected):
    # The workflow verifies its standby and closes the entry before the watcher's next
    # poll: that poll must still judge the moves against the entry open since the last one.
    from pacemaker_update.detect import ClusterPoller
    ledger = MemoryLedgerStore()
    ledger.open(new_entry("lab", "run1", "standby_server1", "standby", "server1", now=80))
    ledger.close("lab", "run1.standby_server1", now=closed_at)
    poller = ClusterPoller(_lab_cluster(), ledger,
                           transport_factory=_Snapshots("two_node_normal", "two_node_standby"))
    assert poller.poll_once(now=100) == []
    seen = poller.poll_once(now=200)
    assert sorted(d.payload["kind"] for d in seen
                  if d.trigger.endswith("unexpected_failover")) == unexpected
    assert len([d for d in seen if d.trigger.endswith("cluster_event")]) == 4


def test_open_during_is_open_at_any_moment_of_the_window():
    entry = new_entry("lab", "run1", "s", "standby", "server1", ttl=60, now=100)
    assert entry.open_during(120, 300)          # open, expires inside the window
    assert not entry.open_during(160, 300)      # expired before the window
    closed = entry.__class__(**{**entry.__dict__, "closed_at": 130.0})
    assert closed.open_during(125, 200) and not closed.open_during(131, 200)
    assert not closed.open_during(200, 200)     # empty window = "open now"


def _stop(node):
    from pacemaker_update.detect.events import make_event
    return make_event("resource_stopped", "lab", "2026-01-01T00:00:00+00:00",
                      f"ping stopped on {node}", resource="ping", parent="ping-clone",
                      node=node, from_node=node, role_before="started", role_after="stopped")


def test_a_whole_cluster_stop_covers_every_resource_stopping():
    """Seen on the lab (method 1): the cluster_stop entry must cover a clone instance that
    simply stops on the node being stopped, not only moves."""
    from pacemaker_update.detect.ledger import covers
    entry = new_entry("lab", "run1", "stop", "cluster_stop", None, now=100.0)
    assert covers(entry, _stop("server2"), 101.0)
    standby = new_entry("lab", "run1", "sb", "standby", "server2", now=100.0)
    assert covers(standby, _stop("server2"), 101.0)
    assert not covers(standby, _stop("server1"), 101.0), "another node's stop stays unexpected"


def test_leaving_node_maintenance_covers_the_reprobe_on_that_node_only():
    """Seen on the lab (method 3): leaving node maintenance re-probes; crm_mon shows the
    node's resources stopped until the probe answers."""
    from pacemaker_update.detect.ledger import covers
    ready = new_entry("lab", "run1", "ready", "node_ready", "server2", now=100.0)
    assert covers(ready, _stop("server2"), 101.0)
    unstandby = new_entry("lab", "run1", "un", "unstandby", "server2", now=100.0)
    assert not covers(unstandby, _stop("server2"), 101.0), "online never excuses a stop there"


def test_rollback_restore_covers_moves_back_but_never_a_crash_or_a_lost_node():
    """rollback's move of every resource back to the snapshot (cluster_restore): resources
    may leave and arrive anywhere, by a standby + online of the node they run on (the
    failback op, seen on the lab); a crash, a failure or a node going away stays unexpected."""
    from pacemaker_update.detect.events import make_event
    from pacemaker_update.detect.ledger import covers
    restore = new_entry("lab", "rb1", "cluster_restore", "cluster_restore", None, now=100.0)
    moved = make_event("resource_moved", "lab", "t", "vip moved", resource="vip",
                       node="server1", from_node="server2", to_node="server1")
    assert covers(restore, moved, 101.0) and covers(restore, _stop("server2"), 101.0)
    for kind in ("node_standby", "node_unstandby"):
        event = make_event(kind, "lab", "t", kind, node="server2", from_node="server2")
        assert covers(restore, event, 101.0), kind
    for kind in ("node_unclean", "node_offline", "node_maintenance", "failed_action"):
        event = make_event(kind, "lab", "t", kind, node="server2", from_node="server2",
                           resource="vip" if kind == "failed_action" else None)
        assert not covers(restore, event, 101.0), kind
    with pytest.raises(InvalidInputError):
        new_entry("lab", "rb1", "x", "cluster_restoration", None)
