"""The lab itself: a real 2/3-node cluster, reachable over SSH, with a probed service,
package stand-ins, fault commands and a clean tear-down (issue 3)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import paramiko
import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]
LAB = Path(__file__).resolve().parents[2] / "lab" / "lab"


def ssh_run(client: Any, command: str) -> tuple[int, str, str]:
    """Run a command over an open paramiko client: (rc, stdout, stderr)."""
    _, out, err = client.exec_command(command, timeout=120)
    text, etext = out.read().decode(), err.read().decode()
    return out.channel.recv_exit_status(), text, etext


def wait_for(predicate: Any, timeout: float = 30, step: float = 0.2) -> Any:
    """Poll until predicate() is truthy; returns its value or fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"condition not met within {timeout} s")


def service_node(lab: Any, via: str) -> list[str]:
    """Where vip runs, as crm_mon on `via` sees it."""
    return lab.summary(via)["resources"].get("vip", [])


def assert_healthy_xml(xml_text: str, nodes: int) -> None:
    """crm_mon XML: every node online, quorum, web-group's members started on one node."""
    root = ET.fromstring(xml_text)
    assert root.find("status").get("code") == "0"
    assert root.find("summary/current_dc").get("with_quorum") == "true"
    online = [n.get("name") for n in root.iter("node")
              if n.get("online") == "true" and n.get("type") == "member"]
    assert sorted(online) == [f"server{i}" for i in range(1, nodes + 1)]
    group = root.find("resources/group[@id='web-group']")
    members = group.findall("resource")
    assert [m.get("id") for m in members] == ["vip", "web"]
    assert all(m.get("role") == "Started" for m in members)
    assert len({m.find("node").get("name") for m in members}) == 1


def test_two_nodes_online_with_quorum_and_service(fresh_lab: Any) -> None:
    for node in fresh_lab.nodes:
        assert_healthy_xml(fresh_lab.crm_mon_xml(node), 2)
    with fresh_lab.probe() as probe:
        time.sleep(0.5)
    summary = probe.stop()
    assert summary["requests"] >= 5 and summary["failed"] == 0
    assert summary["nodes_seen"] == ["server1"]
    assert all(r["status"] == 200 for r in probe.records)


def test_config_yaml_is_a_valid_pack_config(fresh_lab: Any) -> None:
    from pacemaker_update.config import load_config_file

    cluster = load_config_file(fresh_lab.config_path).cluster("lab")
    assert [(n.name, n.address) for n in cluster.nodes] == list(fresh_lab.addresses.items())
    assert cluster.ssh.known_hosts == str(fresh_lab.known_hosts)
    assert not cluster.ssh.allow_unknown_host_keys


def test_ssh_verifies_host_keys(fresh_lab: Any, tmp_path: Path) -> None:
    for node in fresh_lab.nodes:
        client = fresh_lab.ssh(node)
        rc, out, _ = ssh_run(client, "hostname; crm_mon -1 --output-as=xml")
        client.close()
        assert rc == 0 and out.splitlines()[0] == node
        assert_healthy_xml(out.split("\n", 1)[1], 2)
    stranger = paramiko.SSHClient()
    (tmp_path / "kh").write_text("")
    stranger.load_host_keys(str(tmp_path / "kh"))
    stranger.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException):
        stranger.connect(fresh_lab.addresses["server1"], username="root",
                         key_filename=str(fresh_lab.key_file), look_for_keys=False,
                         allow_agent=False, timeout=10)


def test_crm_node_standby_moves_service_and_probe_sees_it(fresh_lab: Any,
                                                          record_property: Any) -> None:
    client = fresh_lab.ssh("server1")
    with fresh_lab.probe() as probe:
        time.sleep(0.3)
        rc, _, err = ssh_run(client, "crm node standby server1")
        assert rc == 0, err
        wait_for(lambda: service_node(fresh_lab, "server2") == ["server2"])
        wait_for(lambda: probe.records and probe.records[-1].get("node") == "server2")
        time.sleep(0.3)
    summary = probe.stop()
    client.close()
    assert "server1->server2" in summary["switchovers"]
    assert probe.records[0]["node"] == "server1" and probe.records[-1]["node"] == "server2"
    record_property("standby_outage_s", summary["failed_time"])
    print("crm node standby outage seen by the probe:", summary["failed_time"], "s")
    node = ET.fromstring(fresh_lab.crm_mon_xml("server2")).find(".//node[@name='server1']")
    assert node.get("standby") == "true"


def test_pcs_node_standby_moves_service(fresh_lab: Any) -> None:
    client = fresh_lab.ssh("server2")
    rc, _, err = ssh_run(client, "pcs node standby server1")
    assert rc == 0, err
    wait_for(lambda: service_node(fresh_lab, "server2") == ["server2"])
    rc, _, err = ssh_run(client, "pcs node unstandby server1")
    client.close()
    assert rc == 0, err
    wait_for(lambda: "server1" in fresh_lab.summary("server2")["online"])
    assert service_node(fresh_lab, "server2") == ["server2"]  # stickiness: no failback


def test_stop_pacemaker_then_yum_update_over_ssh(fresh_lab: Any) -> None:
    client = fresh_lab.ssh("server2")
    rc, _, err = ssh_run(client, "systemctl stop pacemaker")
    assert rc == 0, err
    assert ssh_run(client, "systemctl is-active pacemaker")[0:2] == (3, "inactive\n")
    wait_for(lambda: "server2" not in fresh_lab.summary("server1")["online"])
    rc, out, _ = ssh_run(client, "yum check-update pacemaker")
    assert rc == 100 and "2.1.6-1.el9" in out
    rc, out, err = ssh_run(client, "yum -y update pacemaker corosync")
    assert rc == 0, err
    rc, out, _ = ssh_run(client, "rpm -q --queryformat '%{VERSION}-%{RELEASE}\\n' pacemaker")
    assert (rc, out) == (0, "2.1.6-1.el9\n")
    log = fresh_lab.package_log("server2")
    assert len(log) == 1 and log[0]["ok"] and not log[0]["pacemaker_running"]
    assert log[0]["changed"]["pacemaker"] == ["2.1.5-1.el9", "2.1.6-1.el9"]
    assert fresh_lab.package_db("server1")["pacemaker"] == "2.1.5-1.el9"
    rc, _, err = ssh_run(client, "systemctl start pacemaker")
    client.close()
    assert rc == 0, err
    fresh_lab.wait_settled(service_node="server1")


def test_service_update_changes_reported_version(fresh_lab: Any) -> None:
    res = fresh_lab.exec("server1", ["yum", "-y", "update", "httpd"])
    assert res.returncode == 0, res.stderr
    log = fresh_lab.package_log("server1")
    assert log[-1]["service_running"] and log[-1]["pacemaker_running"]
    with fresh_lab.probe() as probe:
        time.sleep(0.3)
    assert probe.stop()["versions_seen"] == ["2.4.62-1.el9"]


def test_fail_next_update_fails_once(fresh_lab: Any) -> None:
    fresh_lab.fail_next_update("server2")
    res = fresh_lab.exec("server2", ["yum", "-y", "update"])
    assert res.returncode == 1 and "Error" in res.stderr
    assert fresh_lab.package_db("server2")["pacemaker"] == "2.1.5-1.el9"
    assert fresh_lab.exec("server2", ["yum", "-y", "update"]).returncode == 0
    assert fresh_lab.package_db("server2")["pacemaker"] == "2.1.6-1.el9"
    assert [t["ok"] for t in fresh_lab.package_log("server2")] == [False, True]


def test_second_yum_update_waits_for_the_first_and_changes_nothing(fresh_lab: Any) -> None:
    # yum takes one lock per host: an update started while another still runs (a resumed run
    # re-running the update of a killed one) waits, then finds nothing left to do
    import threading
    fresh_lab.slow_next_update("server2", 3.0)
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(
        res=fresh_lab.exec("server2", ["yum", "-y", "update"])))
    worker.start()
    time.sleep(1.0)
    second = fresh_lab.exec("server2", ["yum", "-y", "update"])
    worker.join(30)
    assert first["res"].returncode == 0, first["res"].stderr
    assert second.returncode == 0, second.stderr
    assert "holding the yum lock" in second.stderr
    assert "Nothing to do" in second.stdout
    assert [t["ok"] for t in fresh_lab.package_log("server2")] == [True]
    assert fresh_lab.package_db("server2")["pacemaker"] == "2.1.6-1.el9"


def test_faults_crash_poweron_kill_move(fresh_lab: Any) -> None:
    fresh_lab.kill_service("server1")
    wait_for(lambda: fresh_lab.summary("server2")["failures"] >= 1)
    fresh_lab.move("web-group", "server2")
    assert service_node(fresh_lab, "server1") == ["server2"]
    fresh_lab.crash("server2")
    wait_for(lambda: service_node(fresh_lab, "server1") == ["server1"], timeout=40)
    fresh_lab.poweron("server2")
    fresh_lab.wait_settled(service_node="server1")
    fresh_lab.netcut("server2")
    wait_for(lambda: "server2" not in fresh_lab.summary("server1")["online"], timeout=40)
    fresh_lab.netrestore("server2")
    fresh_lab.wait_settled()


@pytest.mark.parametrize("lab_cluster", [{"nodes": 3, "pcsd": True}], indirect=True)
def test_three_nodes_up_and_down_leaves_nothing(fresh_lab: Any) -> None:
    for node in fresh_lab.nodes:
        assert_healthy_xml(fresh_lab.crm_mon_xml(node), 3)
    res = fresh_lab.exec("server1", ["pcs", "cluster", "stop", "server3"])  # remote, via pcsd
    assert res.returncode == 0, res.stderr
    assert fresh_lab.exec("server3", ["systemctl", "is-active", "corosync"]).returncode == 3
    assert fresh_lab.exec("server1", ["pcs", "cluster", "start", "server3"]).returncode == 0
    fresh_lab.wait_settled()
    with fresh_lab.probe() as probe:
        time.sleep(0.3)
    assert probe.stop()["failed"] == 0
    client = fresh_lab.ssh("server3")
    assert ssh_run(client, "crm node standby server1")[0] == 0
    client.close()
    wait_for(lambda: service_node(fresh_lab, "server3") not in ([], ["server1"]))
    assert fresh_lab.down() == []
    assert_nothing_left()


def assert_nothing_left() -> None:
    """ip link, ip netns, findmnt and ps show nothing of the lab."""
    sys.path.insert(0, str(LAB.parent))
    from pmlab.consts import lab_dir
    from pmlab.testing import leftovers

    assert leftovers() == []
    assert not (lab_dir() / "state.json").exists()
    assert not (lab_dir() / "standins").exists()


def test_two_nodes_down_leaves_nothing(lab_factory: Any) -> None:
    lab = lab_factory(2)
    assert lab.summary()["quorum"]
    assert lab.down() == []
    assert_nothing_left()
    res = subprocess.run([str(LAB), "down"], capture_output=True, text=True)
    assert res.returncode == 0  # idempotent


def test_sigkill_during_up_then_down_leaves_nothing(lab_factory: Any) -> None:
    lab_factory(2).down()
    proc = subprocess.Popen([str(LAB), "up", "--nodes", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    sys.path.insert(0, str(LAB.parent))
    from pmlab.consts import lab_dir

    state_file = lab_dir() / "state.json"

    def server2_starting() -> bool:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return False
        return state["nodes"]["server2"].get("phase") in ("spawning", "spawned", "network")

    wait_for(server2_starting, timeout=30, step=0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    res = subprocess.run([str(LAB), "down"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert_nothing_left()
    print(sys.version)


def _power_cut_everything(lab: Any) -> None:
    """What a reboot, or a copy of the disk on another machine, leaves: state.json says the
    lab is up, and nothing of it runs (no node, no gateway, no bridge)."""
    from pmlab.procs import kill_and_wait, tagged_pids

    state = lab.state
    assert kill_and_wait(tagged_pids(state["tag"])) == []
    subprocess.run(["ip", "link", "del", "dev", state["bridge"]], check=True)


def _assert_healthy_on_server1(summary: dict[str, Any]) -> None:
    assert sorted(summary["online"]) == ["server1", "server2"]
    assert summary["resources"]["vip"] == ["server1"]


def test_a_stale_lab_record_is_rebuilt_not_trusted(lab_factory: Any) -> None:
    """CI stop 10: the record said 'up' but the lab's processes did not exist; every test's
    reset then spent 3 minutes failing to settle. A stale record is rebuilt by bring_up, by
    reset and by `lab up`; a lab with only a crashed node is not stale and is kept."""
    sys.path.insert(0, str(LAB.parent))
    from pmlab.lifecycle import stale_reason

    lab = lab_factory(2)
    tag = lab.state["tag"]
    lab.crash("server2")  # a fault a test made: the lab must be kept and healed in place
    assert stale_reason(lab.state) is None
    lab = lab_factory(2)
    assert lab.state["tag"] == tag
    _assert_healthy_on_server1(lab.reset())
    assert lab.state["tag"] == tag

    _power_cut_everything(lab)
    assert stale_reason(lab.state) is not None
    lab = lab_factory(2)  # same configuration recorded as up: not trusted
    assert lab.state["tag"] != tag
    _assert_healthy_on_server1(lab.reset())

    tag = lab.state["tag"]
    _power_cut_everything(lab)
    _assert_healthy_on_server1(lab.reset())  # reset alone rebuilds a stale lab
    assert lab.state["tag"] != tag

    tag = lab.state["tag"]
    _power_cut_everything(lab)
    res = subprocess.run([str(LAB), "status"], capture_output=True, text=True)
    assert "STALE: none of its processes runs" in res.stdout, res.stdout + res.stderr
    res = subprocess.run([str(LAB), "up", "--nodes", "2"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "stale" in res.stderr
    assert lab.state["tag"] != tag
    _assert_healthy_on_server1(lab.reset())
    res = subprocess.run([str(LAB), "up", "--nodes", "2"], capture_output=True, text=True)
    assert res.returncode == 2 and "already recorded" in res.stderr  # a live lab is refused
