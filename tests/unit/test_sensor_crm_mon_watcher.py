"""The crm_mon_watcher sensor, driven like st2 drives it (setup, poll, cleanup).

Transports are doubles (one layer under test); crm_mon output is REAL recorded XML. No
wall-clock assertions: ordering is proven with events and worker round counters.
"""

import importlib.util
import logging
import threading
from pathlib import Path

import pytest
from pacemaker_update.detect import ServiceLedgerStore, new_entry
from pacemaker_update.errors import ConnectError

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "crm_mon"
WAIT = 10


def load_sensor_class():
    spec = importlib.util.spec_from_file_location("crm_mon_watcher",
                                                  ROOT / "sensors" / "crm_mon_watcher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CrmMonWatcher


class Result:
    def __init__(self, stdout, rc=0):
        self.stdout, self.rc, self.stderr = stdout, rc, ""


class SensorService:
    """st2's sensor_service surface the sensor uses: dispatch, logger, datastore."""

    def __init__(self):
        self.dispatched, self.cond, self.data = [], threading.Condition(), {}

    def dispatch(self, trigger, payload=None, trace_tag=None):
        with self.cond:
            self.dispatched.append((trigger, payload))
            self.cond.notify_all()

    def get_logger(self, name):
        return logging.getLogger(name)

    def set_value(self, name, value, ttl=None, local=True, **_):
        self.data[name] = value

    def get_value(self, name, local=True, **_):
        return self.data.get(name)

    def list_values(self, local=True, prefix=None):
        return [type("KVP", (), {"name": k, "value": v})()
                for k, v in sorted(self.data.items()) if k.startswith(prefix or "")]

    def triggers(self, name=None):
        return [t for t, _ in self.dispatched if name is None or t.endswith(name)]


class Script:
    """Per (cluster, node): a list of crm_mon answers (fixture names or exceptions)."""

    def __init__(self):
        self.plans, self.calls, self.lock = {}, [], threading.Lock()

    def plan(self, cluster, node, *answers):
        self.plans[(cluster, node)] = list(answers)

    def factory(self, cluster, node):
        script = self

        class Transport:
            def run(self, argv, timeout=None, **_):
                assert argv == ["crm_mon", "-1", "--output-as=xml"]
                with script.lock:
                    script.calls.append((cluster.name, node))
                    plan = script.plans[(cluster.name, node)]
                    answer = plan.pop(0) if len(plan) > 1 else plan[0]
                if callable(answer):
                    answer = answer()
                if isinstance(answer, Exception):
                    raise answer
                return Result((FIX / f"{answer}.xml").read_text())

            def close(self):
                pass

        return Transport()


def config(*names):
    return {"clusters": {n: {"nodes": [{"name": "server1", "address": "10.0.0.1"},
                                       {"name": "server2", "address": "10.0.0.2"}],
                             "chat_route": f"ops-{n}"} for n in names}}


@pytest.fixture
def make_sensor():
    made = []

    def make(script, *clusters):
        cls = load_sensor_class()
        cls.transport_factory = staticmethod(script.factory)
        service = SensorService()
        sensor = cls(sensor_service=service, config=config(*clusters), poll_interval=5)
        sensor.setup()
        made.append(sensor)
        return sensor, service

    yield make
    for sensor in made:
        sensor.cleanup()


def poll_round(sensor, count):
    sensor.poll()
    for worker in sensor.workers.values():
        assert worker.wait_rounds(count, WAIT)


def test_yaml_declares_the_class_the_module_defines():
    import yaml
    doc = yaml.safe_load((ROOT / "sensors" / "crm_mon_watcher.yaml").read_text())
    assert doc["class_name"] == load_sensor_class().__name__
    names = [t["name"] for t in doc["trigger_types"]]
    assert names == ["cluster_event", "unexpected_failover", "cluster_unreachable",
                     "cluster_reachable"]


def test_unexpected_move_dispatches_events_and_unexpected_failover_once(make_sensor):
    script = Script()
    script.plan("lab", "server1", "two_node_normal", "two_node_standby")
    sensor, service = make_sensor(script, "lab")
    poll_round(sensor, 1)
    assert service.dispatched == []  # the first snapshot is only remembered
    poll_round(sensor, 2)
    assert service.triggers("cluster_event") == ["pacemaker_update.cluster_event"] * 4
    unexpected = [p for t, p in service.dispatched if t.endswith("unexpected_failover")]
    assert sorted(p["kind"] for p in unexpected) == [
        "node_standby", "resource_moved", "resource_moved", "resource_stopped"]
    assert all(p["on_unexpected_failover"] == "pause" and p["chat_route"] == "ops-lab"
               and p["expected"] is False for p in unexpected)
    poll_round(sensor, 3)  # same state again: nothing new
    poll_round(sensor, 4)
    assert len(service.dispatched) == 8


def test_ledger_entry_in_the_datastore_makes_the_standby_expected(make_sensor):
    script = Script()
    script.plan("lab", "server1", "two_node_normal", "two_node_standby")
    sensor, service = make_sensor(script, "lab")
    poll_round(sensor, 1)
    ServiceLedgerStore(service).open(new_entry("lab", "run9", "standby_server1", "standby",
                                               "server1"))
    poll_round(sensor, 2)
    assert service.triggers("unexpected_failover") == []
    events = [p for _, p in service.dispatched]
    assert len(events) == 4 and {p["ledger_entry"] for p in events} == {"run9.standby_server1"}


def test_falls_back_to_the_next_node(make_sensor):
    script = Script()
    script.plan("lab", "server1", ConnectError("refused"))
    script.plan("lab", "server2", "two_node_normal", "two_node_failed_monitor")
    sensor, service = make_sensor(script, "lab")
    poll_round(sensor, 1)
    poll_round(sensor, 2)
    assert service.triggers("unreachable") == []
    assert [p["kind"] for t, p in service.dispatched if "unexpected" in t] == ["failed_action"]
    # the node that answered is asked first from then on
    assert script.calls[-1] == ("lab", "server2") and script.calls.count(("lab", "server1")) == 1


def test_unreachable_cluster_is_reported_once_and_recovery_once(make_sensor):
    script = Script()
    down = ConnectError("no route to host")
    script.plan("lab", "server1", down, down, down, "two_node_normal")
    script.plan("lab", "server2", down, down, down, "two_node_normal")
    sensor, service = make_sensor(script, "lab")
    for count in (1, 2, 3):
        poll_round(sensor, count)
    assert service.triggers() == ["pacemaker_update.cluster_unreachable"]
    payload = service.dispatched[0][1]
    assert payload["code"] == "CLUSTER_UNREACHABLE" and len(payload["attempts"]) == 2
    poll_round(sensor, 4)
    poll_round(sensor, 5)
    assert service.triggers() == ["pacemaker_update.cluster_unreachable",
                                  "pacemaker_update.cluster_reachable"]


def test_a_slow_cluster_does_not_delay_another(make_sensor):
    release, slow_entered = threading.Event(), threading.Event()

    def stuck():
        slow_entered.set()
        assert release.wait(WAIT)
        return "two_node_normal"

    script = Script()
    script.plan("slow", "server1", stuck, "two_node_normal")
    script.plan("fast", "server1", "two_node_normal", "two_node_standby", "two_node_normal")
    sensor, service = make_sensor(script, "slow", "fast")
    try:
        sensor.poll()
        assert slow_entered.wait(WAIT)
        assert sensor.workers["fast"].wait_rounds(1, WAIT)
        for count in (2, 3):  # fast finishes whole rounds while slow is still stuck
            sensor.poll()
            assert sensor.workers["fast"].wait_rounds(count, WAIT)
        assert sensor.workers["slow"].rounds == 0
        assert {p["cluster"] for _, p in service.dispatched} == {"fast"}
        # there: standby, 2 moves, ping stopped; back: 2 moves (unstandby and start are info)
        assert len(service.triggers("unexpected_failover")) == 6
    finally:
        release.set()
    assert sensor.workers["slow"].wait_rounds(1, WAIT)
