"""Every pack action against the real lab cluster, over SSH, with crmsh AND pcs.

One lab per front end (2 nodes), reset before each test. The actions run exactly as
st2 would run them (the Action class, run(**params) -> (ok, envelope)); the pack config is
the lab's config.yaml with the front end under test. Figures (standby move time, outage
seen by the VIP probe) are printed with -s, never asserted.
"""

import importlib.util
import inspect
import json
import time
from pathlib import Path

import pytest
import yaml
from pacemaker_update import ops
from pacemaker_update.st2compat import Action

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ACTIONS = Path(__file__).resolve().parents[2] / "actions"
MUTATING = {
    "set_node_standby": {"node": "server1", "enabled": True},
    "set_node_maintenance": {"node": "server2", "enabled": True},
    "set_cluster_maintenance": {"enabled": True},
    "stop_pacemaker": {"node": "server2"},
    "start_pacemaker": {"node": "server2"},
    "start_cluster": {"start_nodes": ["server2", "server1"]},
    "restart_services": {"node": "server2", "services": ["httpd"]},
    "update_packages": {"node": "server2", "packages": ["httpd"]},
    "failover": {"node": "server1"},
}


def action(name):
    spec = importlib.util.spec_from_file_location("lab_" + name, ACTIONS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [c for _, c in inspect.getmembers(mod, inspect.isclass)
            if issubclass(c, Action) and c.__module__ == mod.__name__][0]


@pytest.fixture(params=["crmsh", "pcs"], scope="module")
def frontend(request):
    return request.param


@pytest.fixture
def lab(frontend, lab_factory, tmp_path, monkeypatch):
    handle = lab_factory(2, frontend, False)
    handle.reset()
    config = yaml.safe_load(handle.config_path.read_text())
    config["clusters"]["lab"]["frontend"] = frontend
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("PACEMAKER_UPDATE_CONFIG", str(path))
    ops.forget_probes()
    return handle


def run(name, **params):
    params.setdefault("cluster", "lab")
    ok, env = action(name)(config={}).run(**params)
    json.dumps(env)  # the envelope is JSON, as st2 stores it
    return ok, env


def cib_epoch(lab):
    head = lab.exec("server1", ["cibadmin", "-Q", "--scope", "crm_config"]).stdout
    full = lab.exec("server1", ["cibadmin", "-Q"]).stdout
    return head, full.split(">", 1)[0].split("num_updates")[0]


def where(lab, rid):
    return lab.summary()["resources"].get(rid, [])


def test_standby_moves_the_service_and_the_vip_keeps_answering(lab, frontend):
    with lab.probe() as probe:
        start = time.monotonic()
        ok, env = run("set_node_standby", node="server1", enabled=True)
        moved = time.monotonic() - start
        time.sleep(1.0)
        figures = probe.stop()
    assert ok, env["error"]
    assert where(lab, "web") == ["server2"] and where(lab, "vip") == ["server2"]
    assert probe.records[-1]["ok"], "the VIP does not answer after the move"
    print(f"\n[{frontend}] standby move verified in {moved:.2f}s; probe: {figures}")
    ok, env = run("set_node_standby", node="server1", enabled=True)
    assert ok and env["warnings"] == ["server1 is already in standby"]
    assert not [c for c in env["commands"] if "standby" in c["argv"]]
    ok, env = run("set_node_standby", node="server1", enabled=False)
    assert ok, env["error"]
    assert lab.summary()["nodes"]["server1"]["standby"] == "false"


def test_node_maintenance_unmanages_that_nodes_resources(lab):
    ok, env = run("set_node_maintenance", node="server2", enabled=True)
    assert ok, env["error"]
    assert env["data"]["unmanaged"] == ["ping"]
    xml = lab.crm_mon_xml("server1")
    assert 'name="server2"' in xml and 'maintenance="true"' in xml
    ok, env = run("set_node_maintenance", node="server2", enabled=False)
    assert ok, env["error"]
    assert env["data"]["guard"]["safe"] is True and env["data"]["unmanaged"] == []


def test_cluster_maintenance_unmanages_everything(lab):
    ok, env = run("set_cluster_maintenance", enabled=True)
    assert ok, env["error"]
    assert set(env["data"]["unmanaged"]) == {"vip", "web", "ping"}
    assert lab.summary()["maintenance_mode"] is True
    ok, env = run("set_cluster_maintenance", enabled=False)
    assert ok, env["error"]
    assert lab.summary()["maintenance_mode"] is False


def test_guard_refuses_a_resource_left_stopped_and_accepts_it_restored(lab):
    assert run("set_cluster_maintenance", enabled=True)[0]
    lab.kill_service("server1")
    ok, env = run("check_maintenance_exit")
    assert not ok and env["error"]["code"] == "SAFETY_GUARD_REFUSED"
    acts = env["error"]["details"]["actions"]
    assert any(a["resource"] == "web" for a in acts), acts
    ok, env = run("set_cluster_maintenance", enabled=False)
    assert not ok and env["error"]["code"] == "SAFETY_GUARD_REFUSED"
    assert lab.summary()["maintenance_mode"] is True
    started = lab.exec("server1", ["crm_resource", "--force-start", "-r", "web"])
    assert started.returncode == 0, started.stderr
    ok, env = run("check_maintenance_exit")
    assert ok, env["error"]
    ok, env = run("set_cluster_maintenance", enabled=False)
    assert ok, env["error"]
    assert where(lab, "web") == ["server1"]


def test_stopping_pacemaker_on_the_standby_does_not_disturb_the_primary(lab):
    lab.wait_settled(service_node="server1")
    assert run("wait_until_settled")[0]
    with lab.probe() as probe:
        ok, env = run("stop_pacemaker", node="server2")
        figures = probe.stop()
    assert ok, env["error"]
    assert figures["failed"] == 0, figures
    assert where(lab, "web") == ["server1"]
    assert lab.summary("server1")["nodes"]["server2"]["online"] == "false"
    ok, env = run("start_pacemaker", node="server2")
    assert ok, env["error"]
    assert run("wait_until_settled")[0]


def test_update_packages_changes_the_lab_package_db(lab):
    before = lab.package_db("server2")
    ok, env = run("update_packages", node="server2", packages=["httpd"])
    assert ok, env["error"]
    # the lab's rpm stand-in leaves %|EPOCH?...| unexpanded: compare the tail only
    assert env["data"]["changed"]["httpd"]["before"].endswith("2.4.57-1.el9")
    assert env["data"]["changed"]["httpd"]["after"].endswith("2.4.62-1.el9")
    assert lab.package_db("server2")["httpd"] != before["httpd"]
    ok, env = run("update_packages", node="server2", packages=["pacemaker"])
    assert not ok and env["error"]["code"] == "STACK_RUNNING"
    assert run("stop_pacemaker", node="server2")[0]
    ok, env = run("update_packages", node="server2", packages=["pacemaker"])
    assert ok, env["error"]
    assert lab.package_log("server2")[-1]["pacemaker_running"] is False
    assert run("start_pacemaker", node="server2")[0]


def test_preflight_refuses_failed_action_and_offline_node_with_reason(lab):
    ok, env = run("preflight_check")
    assert ok and env["data"]["order"] == ["server2", "server1"]
    lab.kill_service("server1")
    deadline = time.monotonic() + 30
    while lab.summary()["failures"] == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    ok, env = run("preflight_check")
    assert not ok and env["error"]["code"] == "PREFLIGHT_FAILED"
    assert "FAILED_ACTION" in {p["code"] for p in env["error"]["details"]["problems"]}
    assert env["error"]["details"]["order"]
    lab.reset()
    lab.exec("server2", ["systemctl", "stop", "pacemaker"])
    ok, env = run("preflight_check")
    assert not ok
    offline = [p for p in env["error"]["details"]["problems"] if p["code"] == "NODE_OFFLINE"]
    assert [p["node"] for p in offline] == ["server2"]


def test_failover_and_failback(lab):
    ok, snap = run("snapshot_state")
    assert ok and snap["data"]["snapshot"]["resources"]["web"] == {"server1": "started"}
    ok, env = run("failover", node="server1")
    if not ok and env["error"]["code"] == "RESOURCES_MOVED_BACK":
        pytest.fail("the lab has no resource-stickiness: the seed's failover cannot work")
    assert ok, env["error"]
    assert env["data"]["moved"]["web"] == ["server2"]
    ok, env = run("compare_state", snapshot=snap["data"]["snapshot"])
    assert not ok and env["error"]["code"] == "STATE_DIFFERS"
    ok, env = run("failback", snapshot=snap["data"]["snapshot"])
    assert ok, env["error"]
    assert run("compare_state", snapshot=snap["data"]["snapshot"])[0]


@pytest.mark.parametrize("name", sorted(MUTATING))
def test_dry_run_runs_nothing_yet_lists_the_argv(lab, name):
    cib_before, pkgs_before = cib_epoch(lab), lab.package_log("server2")
    ok, env = run(name, dry_run=True, **MUTATING[name])
    assert ok, env["error"]
    planned = [c for c in env["commands"] if c.get("planned")]
    if name != "update_packages" or env["data"].get("available"):
        assert planned and all(c["argv"] for c in planned)
    assert cib_epoch(lab) == cib_before
    assert lab.package_log("server2") == pkgs_before
    assert lab.summary()["resources"]["web"] == ["server1"]


@pytest.mark.parametrize("name,params,code", [
    ("cluster_status", {"cluster": "nope"}, "UNKNOWN_CLUSTER"),
    ("set_node_standby", {"node": "server9", "enabled": True}, "UNKNOWN_NODE"),
    ("set_node_standby", {"node": "server1;reboot", "enabled": True}, "INVALID_INPUT"),
    ("restart_services", {"node": "server1", "services": ["httpd$(reboot)"]}, "INVALID_INPUT"),
    ("update_packages", {"node": "server1", "packages": []}, "INVALID_INPUT"),
    ("update_packages", {"node": "server1", "packages": ["a;b"]}, "INVALID_INPUT"),
    ("failover", {"node": "server1", "wait_timeout": -1}, "INVALID_INPUT"),
    ("set_cluster_maintenance", {"enabled": "yes"}, "INVALID_INPUT"),
])
def test_bad_input_is_a_coded_error_and_runs_nothing(lab, name, params, code):
    ok, env = run(name, **params)
    assert not ok and env["error"]["code"] == code, env["error"]
    assert env["commands"] == []
