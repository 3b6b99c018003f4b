"""One change, one alarm; the same change happening again, another alarm.

The poller drops the other path's report of a change (an alert and the poll that sees the
same change) and copies of an alert from several nodes, but never a real recurrence: the
bench's 5th hand move of the service (back and away again within 30 s) once raised
nothing at all, because the alert of the 3rd move was still remembered and swallowed it.
States are recorded real crm_mon XML (tests/fixtures/crm_mon).
"""

from pathlib import Path

from pacemaker_update.config import load_config
from pacemaker_update.detect import ClusterPoller, MemoryLedgerStore

ROOT = Path(__file__).resolve().parents[2]


class Snapshots:
    """Transport double: crm_mon answers the last recorded file pushed (then repeats it)."""

    def __init__(self, *names):
        self.names = list(names)

    def push(self, *names):
        self.names.extend(names)

    def __call__(self, cluster, node):
        snapshots = self

        class Transport:
            def run(self, argv, timeout=None, **_):
                if len(snapshots.names) > 1:
                    snapshots.names.pop(0)
                name = snapshots.names[0]
                text = (ROOT / "tests" / "fixtures" / "crm_mon" / f"{name}.xml").read_text()
                return type("Result", (), {"rc": 0, "stdout": text, "stderr": ""})()

            def close(self):
                pass

        return Transport()


def poller(*names):
    cluster = load_config({"clusters": {"lab": {"nodes": [
        {"name": "server1", "address": "10.0.0.1"},
        {"name": "server2", "address": "10.0.0.2"}]}}}).cluster("lab")
    snaps = Snapshots(*names)
    return ClusterPoller(cluster, MemoryLedgerStore(), transport_factory=snaps), snaps


STOP_VIP = {"cluster": "lab", "kind": "resource", "node": "server1", "rsc": "vip",
            "task": "stop", "rc": "0", "target_rc": "0", "status": "0", "desc": "ok",
            "version": "2.1.5"}
FAILED_APP = {"cluster": "lab", "kind": "resource", "node": "server1", "rsc": "app",
              "task": "monitor", "rc": "7", "target_rc": "0", "status": "0",
              "desc": "not running", "version": "2.1.5"}
LOST = {"cluster": "lab", "kind": "node", "node": "server1", "desc": "lost",
        "version": "2.1.5"}


def alarms(dispatches):
    return [d.payload["kind"] for d in dispatches if d.trigger.endswith("unexpected_failover")]


def test_the_same_stop_again_within_30_s_is_a_new_alarm():
    p, _ = poller("two_node_normal")
    assert alarms(p.handle_alert(STOP_VIP, now=100)) == ["resource_stopped"]
    assert alarms(p.handle_alert(STOP_VIP, now=120)) == ["resource_stopped"]


def test_moved_away_back_and_away_again_alarms_every_time():
    # what bench_detect does: move, move back, move again, each reported by the alert
    # first and the poll after it
    p, snaps = poller("two_node_normal")
    assert p.poll_once(now=90) == []
    snaps.push("two_node_standby")
    assert alarms(p.handle_alert(STOP_VIP, now=100)) == ["resource_stopped"]
    assert "resource_moved" in alarms(p.poll_once(now=102))
    snaps.push("two_node_normal")
    assert "resource_moved" in alarms(p.poll_once(now=110))
    snaps.push("two_node_standby")
    assert alarms(p.handle_alert(STOP_VIP, now=118)) == ["resource_stopped"]


def test_a_node_loss_alerted_by_every_node_alarms_once():
    p, _ = poller("two_node_normal")
    assert alarms(p.handle_alert(LOST, now=100)) == ["node_offline"]
    assert alarms(p.handle_alert(dict(LOST), now=101)) == []


def test_the_poll_that_sees_an_alerted_failure_does_not_alarm_twice():
    p, snaps = poller("two_node_normal")
    assert p.poll_once(now=90) == []
    snaps.push("two_node_failed_monitor")
    assert alarms(p.handle_alert(FAILED_APP, now=100)) == ["failed_action"]
    assert alarms(p.poll_once(now=101)) == []


def test_after_pairing_the_same_failure_again_is_news():
    p, snaps = poller("two_node_normal")
    assert p.poll_once(now=90) == []
    snaps.push("two_node_failed_monitor")
    assert alarms(p.handle_alert(FAILED_APP, now=100)) == ["failed_action"]
    assert alarms(p.poll_once(now=101)) == []            # counterpart, paired
    snaps.push("two_node_normal")
    p.poll_once(now=105)                                  # cleaned up
    assert alarms(p.handle_alert(FAILED_APP, now=110)) == ["failed_action"]


def test_a_late_alert_is_judged_as_of_its_change_not_its_arrival():
    # the workflow announced the standby of server1, verified it and closed the entry; the
    # alert agent's POST for the stop that standby caused arrives 1.5 s after the close
    from pacemaker_update.detect import new_entry
    from pacemaker_update.detect.ledger import close_entry

    def late(**stamp):
        p, _ = poller("two_node_normal")
        entry = new_entry("lab", "run1", "standby_server1", "standby", "server1", now=95)
        p.ledger.put(close_entry(entry, now=100.0))
        return alarms(p.handle_alert({**STOP_VIP, **stamp}, now=101.5))

    assert late(timestamp_epoch="99", timestamp_usec="500000") == []
    # a stop that happened after the close is news, however late it arrives
    assert late(timestamp_epoch="101", timestamp_usec="200000") == ["resource_stopped"]
    # no time in the alert: judged as of its arrival, as before
    assert late() == ["resource_stopped"]
    # a node clock far behind never reaches back more than ALERT_MAX_LOOKBACK (10 s)
    p, _ = poller("two_node_normal")
    entry = new_entry("lab", "run1", "standby_server1", "standby", "server1", now=60)
    p.ledger.put(close_entry(entry, now=70.0))
    assert alarms(p.handle_alert({**STOP_VIP, "timestamp_epoch": "65"}, now=101.5)) == [
        "resource_stopped"]
