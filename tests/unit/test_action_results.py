"""The python actions as st2 runs them: run(**params) -> (ok, envelope), over the scripted
transport double. Checks the data keys workflows branch on, and that bad input is a
coded error before any command."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.actions import action_class  # noqa: E402
from helpers.fake_transport import CommandScript, fixture  # noqa: E402
from pacemaker_update import ops  # noqa: E402

CONFIG = {"clusters": {"lab": {"frontend": "pcs", "package_manager": "yum",
                               "nodes": [{"name": "server1", "address": "10.0.0.1"},
                                         {"name": "server2", "address": "10.0.0.2"}]}}}
PROBE = [(["pcs", "--version"], "0.11.5\n"), (["crm_mon", "--version"], "Pacemaker 2.1.5\n")]
CRM_MON = ["crm_mon", "-1", "--output-as=xml"]


@pytest.fixture
def script():
    ops.forget_probes()
    s = CommandScript()
    yield s
    s.assert_done()
    ops.forget_probes()


def run(script, name, **params):
    cls = action_class(name)

    class Scripted(cls):
        transport_factory = staticmethod(lambda _c, node: script.transport(node))

    return Scripted(config=CONFIG).run(cluster="lab", **params)


def status(script, scenario, host="server1", probe=True):
    if probe:
        for argv, out in PROBE:
            script.expect(host, argv, stdout=out)
    script.expect(host, CRM_MON, stdout=fixture(scenario))


def test_detect_roles_gives_order_and_primary(script):
    status(script, "two_node_normal")
    ok, env = run(script, "detect_roles")
    assert ok and env["data"]["order"] == ["server2", "server1"]
    assert env["data"]["primary"] == "server1" and env["error"] is None


def test_snapshot_state_gives_snapshot(script):
    status(script, "two_node_normal")
    ok, env = run(script, "snapshot_state")
    assert ok and env["data"]["snapshot"]["resources"]["vip"] == {"server1": "started"}


def test_preflight_passes_with_order_and_refuses_with_problems(script):
    status(script, "two_node_normal")
    for host in ("server1", "server2"):
        script.expect(host, ["crm_mon", "--version"], stdout="Pacemaker 2.1.5\n")
    ok, env = run(script, "preflight_check")
    assert ok and env["data"]["passed"] and env["data"]["order"] == ["server2", "server1"]
    ops.forget_probes()
    status(script, "two_node_failed_monitor")
    for host in ("server1", "server2"):
        script.expect(host, ["crm_mon", "--version"], stdout="Pacemaker 2.1.5\n")
    ok, env = run(script, "preflight_check")
    assert not ok and env["error"]["code"] == "PREFLIGHT_FAILED"
    details = env["error"]["details"]
    assert "FAILED_ACTION" in {p["code"] for p in details["problems"]}
    assert details["primary"] == "server1" and details["order"] == ["server2", "server1"]


def test_compare_state_fails_with_differences(script):
    snap = {"resources": {"vip": {"server1": "started"}, "app": {"server1": "started"},
                          "ping": {"server1": "started", "server2": "started"}}}
    status(script, "two_node_standby")
    ok, env = run(script, "compare_state", snapshot=snap)
    assert not ok and env["error"]["code"] == "STATE_DIFFERS"
    assert {d["resource"] for d in env["error"]["details"]["differences"]} >= {"vip", "app"}


def test_update_packages_data_before_after_changed(script):
    script.expect("server2", ["yum", "-q", "check-update", "httpd"], rc=100,
                  stdout="httpd.x86_64  2.4.62-1.el9  lab\n")
    q = ["rpm", "-q", "--queryformat", r"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n",
         "httpd"]
    script.expect("server2", q, stdout="httpd\t2.4.57-1.el9\n")
    script.expect("server2", ["yum", "-y", "update", "httpd"])
    script.expect("server2", q, stdout="httpd\t2.4.62-1.el9\n")
    ok, env = run(script, "update_packages", node="server2", packages=["httpd"])
    assert ok, env["error"]
    assert env["data"]["before"] == {"httpd": "2.4.57-1.el9"}
    assert env["data"]["after"] == {"httpd": "2.4.62-1.el9"}
    assert env["data"]["changed"] == {"httpd": {"before": "2.4.57-1.el9",
                                                "after": "2.4.62-1.el9"}}


def test_update_packages_that_do_not_change_fail_verification(script):
    script.expect("server2", ["yum", "-q", "check-update", "httpd"], rc=100,
                  stdout="httpd.x86_64  2.4.62-1.el9  lab\n")
    q = ["rpm", "-q", "--queryformat", r"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n",
         "httpd"]
    script.expect("server2", q, stdout="httpd\t2.4.57-1.el9\n")
    script.expect("server2", ["yum", "-y", "update", "httpd"])
    script.expect("server2", q, stdout="httpd\t2.4.57-1.el9\n")
    ok, env = run(script, "update_packages", node="server2", packages=["httpd"])
    assert not ok and env["error"]["code"] == "VERIFICATION_FAILED"
    assert env["error"]["details"]["missed"] == ["httpd"]


@pytest.mark.parametrize("name,params,code", [
    ("cluster_status", {"cluster": "other"}, "UNKNOWN_CLUSTER"),
    ("set_node_standby", {"node": "server9", "enabled": True}, "UNKNOWN_NODE"),
    ("set_node_standby", {"node": "a b", "enabled": True}, "INVALID_INPUT"),
    ("set_node_maintenance", {"node": "server1", "enabled": "on"}, "INVALID_INPUT"),
    ("stop_pacemaker", {"node": "$(reboot)"}, "INVALID_INPUT"),
    ("update_packages", {"node": "server1", "packages": []}, "INVALID_INPUT"),
    ("update_packages", {"node": "server1", "packages": ["x", "-y;rm"]}, "INVALID_INPUT"),
    ("update_packages", {"node": "server1", "packages": ["x"], "all_packages": True},
     "CONFLICTING_PARAMS"),
    ("restart_services", {"node": "server1", "services": "httpd"}, "INVALID_INPUT"),
    ("failover", {"node": "server1", "wait_timeout": -3}, "INVALID_INPUT"),
    ("wait_until_settled", {"wait_timeout": 0}, "INVALID_INPUT"),
    ("compare_state", {"snapshot": {"resources": "x"}}, None),
    ("preflight_check", {"method": "yolo"}, None),
])
def test_bad_input_coded_and_nothing_runs_before_it(script, name, params, code):
    if name == "compare_state":  # the snapshot is checked against crm_mon's state
        status(script, "two_node_normal")
    params = dict(params)
    cluster = params.pop("cluster", "lab")
    cls = action_class(name)

    class Scripted(cls):
        transport_factory = staticmethod(lambda _c, node: script.transport(node))

    ok, env = Scripted(config=CONFIG).run(cluster=cluster, **params)
    assert not ok and env["error"]["code"] == (code or "INVALID_INPUT"), env["error"]
    assert all(not c.get("planned") and c["argv"][0] in ("pcs", "crm_mon") for c in
               env["commands"])
