"""Unexpected-failover detection against the REAL lab cluster (2 nodes, crmsh), over SSH.

The first tests drive ClusterPoller itself (one poll_once per `interval`), exactly what the
sensor's worker and the embedded watcher do. Faults come from the lab (lab/pmlab/faults):
moving the service group by hand, crashing a node, killing the service process. A standby
covered by a ledger entry must raise nothing unexpected.

The later ones run the embedded watcher (detect.watcher.watch) in a thread: the alert
agent installed by install_alert_agent and pushing to an AlertListener on the lab's root
bridge address; no false alarm for standby/online and stop/start of the secondary wrapped
in record_expected_moves/close_expected_moves as the workflows call them (the embedded
runner's SQLite store), and alarms without them; a node cut off the network reported once,
its return once. No timing is asserted; latency is measured by bench/bench_detect.py.
"""

import contextlib
import importlib.util
import inspect
import threading
import time
from pathlib import Path

import pytest
import yaml
from pacemaker_update.config import load_config_file
from pacemaker_update.detect import ClusterPoller, MemoryLedgerStore, new_entry
from pacemaker_update.detect.install import AGENT_DIR, AGENT_PATH, delete_alert_argv
from pacemaker_update.detect.watcher import watch
from pacemaker_update.engine.actions import ActionService
from pacemaker_update.engine.store import RunStore
from pacemaker_update.st2compat import Action

ACTIONS = Path(__file__).resolve().parents[2] / "actions"

pytestmark = [pytest.mark.lab, pytest.mark.slow]
INTERVAL = 1.0
DEADLINE = 60.0


@pytest.fixture
def lab(lab_factory):
    cluster = lab_factory(nodes=2, frontend="crmsh")
    cluster.reset()
    return cluster


def make_poller(lab, ledger=None):
    config = load_config_file(lab.state_dir / "config.yaml").cluster("lab")
    poller = ClusterPoller(config, ledger or MemoryLedgerStore())
    assert poller.poll_once() == []  # baseline snapshot
    return poller


def collect(poller, until, deadline=DEADLINE):
    """Poll every INTERVAL until ``until(dispatches)`` holds; all dispatches seen."""
    seen, end = [], time.monotonic() + deadline
    while time.monotonic() < end:
        seen.extend(poller.poll_once())
        if until(seen):
            return seen
        time.sleep(INTERVAL)
    raise AssertionError(f"condition not met; saw {[d.payload.get('message') for d in seen]}")


def unexpected(seen, kind=None):
    return [d.payload for d in seen if d.trigger.endswith("unexpected_failover")
            and (kind is None or d.payload["kind"] == kind)]


def test_moving_the_service_group_by_hand_is_unexpected(lab):
    poller = make_poller(lab)
    lab.move("web-group", "server2")
    seen = collect(poller, lambda s: unexpected(s, "resource_moved"))
    moved = unexpected(seen, "resource_moved")[0]
    assert (moved["from_node"], moved["to_node"]) == ("server1", "server2")
    assert moved["expected"] is False and moved["cluster"] == "lab"
    poller.close()


def test_killing_the_service_process_is_a_failed_action(lab):
    poller = make_poller(lab)
    lab.kill_service("server1")
    seen = collect(poller, lambda s: unexpected(s, "failed_action"))
    assert unexpected(seen, "failed_action")[0]["node"] == "server1"
    poller.close()


def test_crashing_a_node_is_unexpected(lab):
    poller = make_poller(lab)
    try:
        lab.crash("server1")
        seen = collect(poller, lambda s: [p for p in unexpected(s)
                                          if p["kind"] in ("node_unclean", "node_offline")])
        assert any(p["node"] == "server1" for p in unexpected(seen))
    finally:
        poller.close()
        lab.poweron("server1")


def test_standby_with_a_ledger_entry_raises_nothing_unexpected(lab):
    ledger = MemoryLedgerStore()
    poller = make_poller(lab, ledger)
    ledger.open(new_entry("lab", "labrun", "standby_server1", "standby", "server1"))
    lab.exec("server1", ["crm", "node", "standby", "server1"])
    # vip has left server1 and runs on server2: one "moved" event when a single poll saw
    # both ends, or "stopped" then "started" when the move fell across two polls
    seen = collect(poller, lambda s: any(d.payload.get("kind") in ("resource_moved",
                                                                   "resource_started")
                                         and d.payload.get("resource") == "vip"
                                         and d.payload.get("to_node") == "server2" for d in s))
    seen += collect(poller, lambda s: True, deadline=3 * INTERVAL)  # let it settle
    assert unexpected(seen) == []
    assert {d.payload["ledger_entry"] for d in seen} == {"labrun.standby_server1"}
    ledger.close("lab", "labrun.standby_server1")
    ledger.open(new_entry("lab", "labrun", "online_server1", "unstandby", "server1"))
    lab.exec("server1", ["crm", "node", "online", "server1"])
    back = collect(poller, lambda s: any(d.payload.get("kind") == "node_unstandby" for d in s))
    back += collect(poller, lambda s: True, deadline=5 * INTERVAL)
    assert unexpected(back) == []
    poller.close()


# -- the embedded watcher running beside the lab ------------------------------------------
def action(name, config, service=None):
    """The pack action ``name`` as st2 (or the embedded runner) instantiates it."""
    spec = importlib.util.spec_from_file_location("detect_lab_" + name, ACTIONS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = [c for _, c in inspect.getmembers(mod, inspect.isclass)
           if issubclass(c, Action) and c.__module__ == mod.__name__][0]
    instance = cls(config=config)
    if service is not None:
        instance.action_service = service
    return instance


class Watcher:
    """watch() in a thread; every dispatch kept, in order."""

    def __init__(self, lab, interval, **kwargs):
        self.seen, self.cond = [], threading.Condition()
        self.stop, self.urls = threading.Event(), []
        self.listening = threading.Event()
        cluster = load_config_file(lab.state_dir / "config.yaml").cluster("lab")
        self.thread = threading.Thread(target=watch, daemon=True, kwargs=dict(
            cluster_config=cluster, interval=interval, on_event=self._on_event,
            stop_event=self.stop, on_listening=self._on_listening, **kwargs))

    def _on_event(self, item):
        with self.cond:
            self.seen.append(item)
            self.cond.notify_all()

    def _on_listening(self, url):
        self.urls.append(url)
        self.listening.set()

    def wait_for(self, predicate, deadline=DEADLINE):
        """Block until ``predicate(seen)`` holds; AssertionError with what was seen."""
        with self.cond:
            if self.cond.wait_for(lambda: predicate(self.seen), deadline):
                return list(self.seen)
        raise AssertionError(f"condition not met; saw {messages(self.seen)}")

    def unexpected(self, kind=None):
        with self.cond:
            return unexpected(self.seen, kind)


def messages(seen):
    return [(d.trigger.rsplit(".", 1)[-1], d.payload.get("message"), d.payload.get("source"))
            for d in seen]


@contextlib.contextmanager
def running(lab, interval, **kwargs):
    watcher = Watcher(lab, interval, **kwargs)
    watcher.thread.start()
    try:
        yield watcher
    finally:
        watcher.stop.set()
        watcher.thread.join(30)
    assert not watcher.thread.is_alive(), "the watcher did not stop"


@contextlib.contextmanager
def alert_agent(lab, url):
    """install_alert_agent to ``url``; the CIB alert and the agent on the nodes removed after.

    Each lab node has its own /usr/local/lib (lab/pmlab/files.py): the agent lands on the
    nodes' disks only, never in the host's (or another lab's) /usr/local/lib.
    """
    host_had_agent = Path(AGENT_PATH).exists()
    config = yaml.safe_load(lab.config_path.read_text())
    try:
        ok, out = action("install_alert_agent", config).run(cluster="lab", recipient_url=url)
        assert ok, out
        assert Path(AGENT_PATH).exists() == host_had_agent, "the agent leaked to the host"
        yield out["data"]
    finally:
        lab.exec(lab.nodes[0], delete_alert_argv())
        for node in lab.nodes:
            lab.exec(node, ["rm", "-rf", "--", AGENT_DIR])


def test_each_node_has_its_own_usr_local_lib(lab):
    """What the pack installs under /usr/local/lib stays on that node (lab/pmlab/files.py)."""
    mark = f"/usr/local/lib/pmu-lab-private-{lab.nodes[0]}"
    try:
        assert lab.exec(lab.nodes[0], ["touch", mark]).returncode == 0
        assert lab.exec(lab.nodes[0], ["test", "-e", mark]).returncode == 0
        assert lab.exec(lab.nodes[1], ["test", "-e", mark]).returncode == 1
        assert not Path(mark).exists()
    finally:
        lab.exec(lab.nodes[0], ["rm", "-f", mark])


def test_alert_agent_registered_on_every_node_pushes_to_the_lab_bridge(lab):
    from pmlab import consts
    assert lab.state["root_address"] == consts.ROOT_ADDR
    # A poll interval far beyond the test: only an alert (which triggers an immediate
    # poll) can bring the move to the watcher before the deadline.
    with running(lab, 600, ledger=MemoryLedgerStore(),
                 listen=(consts.ROOT_ADDR, 0)) as watcher:
        assert watcher.listening.wait(10)
        url = watcher.urls[0]
        assert url.startswith(f"http://{consts.ROOT_ADDR}:") and url.endswith("/alert")
        with alert_agent(lab, url) as out:
            assert out["agent_path"] == AGENT_PATH and out["nodes"] == lab.nodes
            for node in lab.nodes:  # every node sees the alert in its live CIB
                cib = lab.exec(node, ["cibadmin", "--query", "--scope", "alerts"])
                assert cib.returncode == 0, cib.stderr
                assert f'path="{AGENT_PATH}"' in cib.stdout and f'value="{url}"' in cib.stdout
                assert cib.stdout.count("<alert ") == 1
                assert lab.exec(node, ["test", "-x", AGENT_PATH]).returncode == 0
            time.sleep(1)  # the first poll (baseline) has happened long before
            lab.move("web-group", "server2")
            watcher.wait_for(lambda s: [p for p in unexpected(s, "resource_stopped")
                                        if p["source"] == "alert"])
            stops = [p for p in watcher.unexpected("resource_stopped") if p["source"] == "alert"]
            assert stops and {p["from_node"] for p in stops} == {"server1"}
            assert {p["resource"] for p in stops} <= {"vip", "web"}
            # the agent never reports the cancelled monitor of a stop as a failure
            assert watcher.unexpected("failed_action") == []
    for node in lab.nodes:
        cib = lab.exec(node, ["cibadmin", "--query", "--scope", "alerts"])
        assert "pacemaker_update" not in cib.stdout


STEPS = [  # (ledger operation, pack action, its parameters), on the secondary server2
    ("standby", "set_node_standby", {"enabled": True}),
    ("unstandby", "set_node_standby", {"enabled": False}),
    ("stop_pacemaker", "stop_pacemaker", {}),
    ("start_pacemaker", "start_pacemaker", {}),
]


def run_step(config, operation, name, params, service=None, run_id=None):
    """One workflow step: record_expected_moves, the action, close_expected_moves."""
    if service is not None:  # exactly the inputs rolling_standby.yaml's record_moves gives
        ok, out = action("record_expected_moves", config, service).run(
            cluster="lab", run_id=run_id, step=f"{operation}_server2", operation=operation,
            node="server2", note=f"lab {name}")
        assert ok, out
    ok, out = action(name, config).run(cluster="lab", node="server2", **params)
    assert ok, out
    if service is not None:
        ok, out = action("close_expected_moves", config, service).run(
            cluster="lab", run_id=run_id, step=f"{operation}_server2")
        assert ok and out["closed"] is not None, out


@pytest.mark.parametrize("alerts", [False, True], ids=["polling", "alerts"])
def test_steps_wrapped_in_the_ledger_raise_no_false_alarm(lab, tmp_path, alerts):
    from pmlab import consts
    config = yaml.safe_load(lab.config_path.read_text())
    store = RunStore(str(tmp_path))  # the embedded runner's run store and action_service
    service = ActionService(store.kv_get, store.kv_set, store.kv_delete, "pacemaker_update",
                            store.kv_list)
    listen = (consts.ROOT_ADDR, 0) if alerts else None
    with running(lab, 5, state_dir=str(tmp_path), listen=listen) as watcher:
        agent = contextlib.nullcontext()
        if alerts:
            assert watcher.listening.wait(10)
            agent = alert_agent(lab, watcher.urls[0])
        with agent:
            time.sleep(6)  # baseline poll done
            for operation, name, params in STEPS:
                run_step(config, operation, name, params, service, run_id="labrun1")
            lab.wait_settled(service_node="server1")
            time.sleep(11)  # two more polls see everything the steps left behind
            seen = watcher.wait_for(lambda s: True)
    assert unexpected(seen) == [], messages(seen)
    covered = {d.payload["kind"]: d.payload["ledger_entry"] for d in seen
               if d.trigger.endswith("cluster_event") and d.payload["expected"]}
    # A short step can fall between two polls (5 s) and never be seen: judge the attribution
    # of what WAS seen; every expected event must name the entry of its own step.
    assert covered, messages(seen)
    assert all(str(entry).startswith("labrun1.") for entry in covered.values()), covered
    own = {"node_standby": "labrun1.standby_server2",
           "node_offline": "labrun1.stop_pacemaker_server2"}
    assert all(covered[k] == v for k, v in own.items() if k in covered), covered
    assert any(d.payload["kind"] == "node_online" for d in seen)
    store.close()


def test_the_same_steps_without_ledger_entries_are_unexpected(lab, tmp_path):
    config = yaml.safe_load(lab.config_path.read_text())
    with running(lab, 5, state_dir=str(tmp_path)) as watcher:
        time.sleep(6)
        run_step(config, *STEPS[0])
        watcher.wait_for(lambda s: unexpected(s, "node_standby"))
        run_step(config, *STEPS[1])
        run_step(config, *STEPS[2])
        watcher.wait_for(lambda s: unexpected(s, "node_offline"))
        run_step(config, *STEPS[3])
        lab.wait_settled(service_node="server1")
    standby = unexpected(watcher.seen, "node_standby")
    assert [p["node"] for p in standby] == ["server2"] and standby[0]["expected"] is False
    assert [p["node"] for p in unexpected(watcher.seen, "node_offline")] == ["server2"]


def test_a_node_cut_off_is_reported_once_and_its_return_once(lab):
    # server1 is the node the watcher asks first (and runs the service): its SSH times
    # out, the watcher falls back to server2 and keeps going.
    with running(lab, 2, ledger=MemoryLedgerStore()) as watcher:
        time.sleep(3)
        lab.netcut("server1")
        try:
            lost = lambda s: [p for p in unexpected(s) if p["node"] == "server1" and  # noqa
                              p["kind"] in ("node_offline", "node_unclean")]
            watcher.wait_for(lost, deadline=90)
            time.sleep(8)  # several more polls through server2
        finally:
            lab.netrestore("server1")
        back = lambda s: [d for d in s if d.payload.get("kind") == "node_online"  # noqa
                          and d.payload.get("node") == "server1"]
        watcher.wait_for(back, deadline=90)
        lab.wait_settled(timeout=120)
        time.sleep(6)
        seen = list(watcher.seen)
    assert len(lost(seen)) == 1, messages(seen)
    assert len(back(seen)) == 1, messages(seen)
    # the cluster stayed reachable through server2: no unreachable/reachable triggers
    assert not [d for d in seen if d.trigger.endswith(("cluster_unreachable",
                                                       "cluster_reachable"))]
