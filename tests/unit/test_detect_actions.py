"""pause_update / rollback_update against a REAL local HTTP server speaking the two st2
API endpoints; the alert agent script (real sh + curl) into the embedded listener;
install_alert_agent's plan and its cibadmin fragment on a real CIB file."""

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers.actions import action_class
from pacemaker_update.detect import MemoryLedgerStore, new_entry
from pacemaker_update.detect.install import AGENT_SOURCE, alert_xml, register_alert_argv
from pacemaker_update.detect.watcher import AlertListener, watch

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "crm_mon"
TOKEN = "tok-123"


class FakeSt2:
    """GET/POST /api/v1/executions and PUT /api/v1/executions/<id>, recording requests."""

    def __init__(self, executions):
        self.executions, self.requests = executions, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, self.path,
                                      self.headers.get("X-Auth-Token"), body))
                return body

            def do_GET(self):  # noqa: N802
                self._record()
                from urllib.parse import parse_qs, urlsplit
                query = parse_qs(urlsplit(self.path).query)
                found = [e for e in fake.executions if e["action"]["ref"] == query["action"][0]
                         and e["status"] == query["status"][0]]
                self._answer(200, found)

            def do_PUT(self):  # noqa: N802
                body = self._record()
                ex_id = self.path.rsplit("/", 1)[1]
                for e in fake.executions:
                    if e["id"] == ex_id:
                        e["status"] = body["status"]
                self._answer(200, {"id": ex_id, "status": body["status"]})

            def do_POST(self):  # noqa: N802
                body = self._record()
                new = {"id": f"rb{len(fake.executions)}", "status": "requested",
                       "action": {"ref": body["action"]}, "parameters": body["parameters"]}
                fake.executions.append(new)
                self._answer(201, new)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def execution(ex_id, cluster, status="running", ref="pacemaker_update.update_cluster"):
    return {"id": ex_id, "status": status, "action": {"ref": ref},
            "parameters": {"cluster": cluster, "method": "rolling_standby"}}


@pytest.fixture
def st2(monkeypatch):
    server = FakeSt2([execution("ex1", "lab"), execution("ex2", "prod")])
    monkeypatch.setenv("ST2_ACTION_API_URL", server.url)
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", TOKEN)
    yield server
    server.close()


class Datastore:
    def __init__(self):
        self.data = {}

    def set_value(self, name, value, ttl=None, local=True, **_):
        self.data[name] = value

    def get_value(self, name, local=True, **_):
        return self.data.get(name)

    def list_values(self, local=True, prefix=None):
        return [{"name": k, "value": v} for k, v in self.data.items()
                if k.startswith(prefix or "")]


def test_pause_update_pauses_only_that_clusters_running_update(st2):
    store = Datastore()
    ok, out = action_class("pause_update")(config={}, action_service=store).run(
        cluster="lab", reason="resource_moved: vip moved from server1 to server2")
    assert ok, out
    assert [p["id"] for p in out["paused"]] == ["ex1"]
    get, put = st2.requests[0], st2.requests[1]
    assert get[0] == "GET" and get[1].startswith("/api/v1/executions?")
    assert "action=pacemaker_update.update_cluster" in get[1] and "status=running" in get[1]
    assert put == ("PUT", "/api/v1/executions/ex1", TOKEN, {"status": "pausing"})
    assert all(r[2] == TOKEN for r in st2.requests)
    assert [e["status"] for e in st2.executions] == ["pausing", "running"]
    why = json.loads(store.data["pacemaker_update.pause_reason.lab"])
    assert "vip moved" in why["reason"]
    # a second trigger of the same incident changes nothing
    ok, out = action_class("pause_update")(config={}, action_service=store).run(cluster="lab")
    assert ok and out["paused"] == [] and out["already_halted"] == ["ex1"]
    assert [r[0] for r in st2.requests].count("PUT") == 1


def test_pause_update_with_an_alert_checks_the_ledger_first(st2):
    store = Datastore()
    alert = {"cluster": "lab", "kind": "resource", "node": "server1", "rsc": "vip",
             "task": "stop", "rc": "0", "target_rc": "0", "status": "0"}
    from pacemaker_update.detect import ServiceLedgerStore
    ServiceLedgerStore(store).open(new_entry("lab", "ex1", "standby_server1", "standby",
                                             "server1"))
    ok, out = action_class("pause_update")(config={}, action_service=store).run(cluster="lab",
                                                                         alert=alert)
    assert ok and out["expected"] is True and st2.requests == []
    alert["node"] = "server2"  # a stop on the other node is not covered
    ok, out = action_class("pause_update")(config={}, action_service=store).run(cluster="lab",
                                                                         alert=alert)
    assert ok and [p["id"] for p in out["paused"]] == ["ex1"]
    assert "vip stopped on server2" in out["reason"]


def test_pause_update_reports_an_unreachable_api_with_a_code(monkeypatch):
    monkeypatch.setenv("ST2_ACTION_API_URL", "http://127.0.0.1:9/api/v1")
    ok, out = action_class("pause_update")(config={}, action_service=None).run(cluster="lab")
    assert not ok and out["error"]["code"] == "ST2_API_UNREACHABLE"
    monkeypatch.delenv("ST2_ACTION_API_URL")
    ok, out = action_class("pause_update")(config={}, action_service=None).run(cluster="lab")
    assert not ok and out["error"]["code"] == "ST2_API_NOT_CONFIGURED"


def test_rollback_update_pauses_then_starts_one_rollback(st2):
    rollback = action_class("rollback_update")
    ok, out = rollback(config={}, action_service=None).run(cluster="lab", reason="crash")
    assert ok, out
    posts = [r for r in st2.requests if r[0] == "POST"]
    assert posts == [("POST", "/api/v1/executions", TOKEN,
                      {"action": "pacemaker_update.rollback", "parameters": {"cluster": "lab"}})]
    assert out["rollback"]["started"] is True
    ok, out = rollback(config={}, action_service=None).run(cluster="lab", reason="again")
    assert ok and out["rollback"]["started"] is False  # one incident, one rollback
    assert len([r for r in st2.requests if r[0] == "POST"]) == 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_alert_agent_script_reaches_the_embedded_watcher(tmp_path):
    """Real sh + curl -> AlertListener -> poller judges the alert against the ledger."""
    class Cluster:
        name, node_names, on_unexpected_failover, chat_route = "lab", ("server1",), "pause", None

    class Transport:
        def run(self, argv, timeout=None, **_):
            return type("R", (), {"rc": 0, "stdout": (FIX / "two_node_normal.xml").read_text(),
                                  "stderr": ""})()

    ledger = MemoryLedgerStore()
    ledger.open(new_entry("lab", "run1", "standby_server1", "standby", "server1"))
    got, listening, stop = [], threading.Event(), threading.Event()
    urls = []

    def on_event(item):
        got.append(item)

    def on_listening(url):
        urls.append(url)
        listening.set()

    thread = threading.Thread(target=watch, kwargs=dict(
        cluster_config=Cluster(), interval=60, on_event=on_event, stop_event=stop,
        ledger=ledger, listen=("127.0.0.1", 0), token="k" * 12,
        transport_factory=lambda c, n: Transport(), on_listening=on_listening), daemon=True)
    thread.start()
    try:
        assert listening.wait(10)
        key = tmp_path / "key"
        key.write_text("k" * 12)
        env = dict(os.environ, CRM_alert_version="2.1.5", CRM_alert_recipient=urls[0],
                   CRM_alert_kind="resource", CRM_alert_node="server2", CRM_alert_rsc="app",
                   CRM_alert_task="monitor", CRM_alert_rc="7", CRM_alert_target_rc="0",
                   CRM_alert_status="0", CRM_alert_desc="not running", pu_cluster="lab",
                   pu_key_file=str(key))
        done = subprocess.run(["sh", AGENT_SOURCE], env=env, capture_output=True, timeout=20)
        assert done.returncode == 0
        env.update(CRM_alert_task="stop", CRM_alert_rc="0", CRM_alert_node="server1")
        subprocess.run(["sh", AGENT_SOURCE], env=env, capture_output=True, timeout=20)
        env.update(pu_key_file=str(tmp_path / "missing"))  # wrong key: refused (401)
        env.update(CRM_alert_node="server3", CRM_alert_task="monitor", CRM_alert_rc="1")
        subprocess.run(["sh", AGENT_SOURCE], env=env, capture_output=True, timeout=20)
    finally:
        stop.set()
        thread.join(10)
    judged = [(d.trigger.rsplit(".", 1)[1], d.payload["kind"], d.payload["node"],
               d.payload["expected"]) for d in got]
    assert judged == [("cluster_event", "failed_action", "server2", False),
                      ("unexpected_failover", "failed_action", "server2", False),
                      ("cluster_event", "resource_stopped", "server1", True)]


def test_listener_refuses_bad_requests():
    listener = AlertListener({"lab": lambda body: None}, token="secret-key")
    import io
    ok_headers = {"St2-Api-Key": "secret-key", "Content-Length": "2"}
    assert listener.accept("/alert", ok_headers, io.BytesIO(b"{}")) == 404  # no cluster
    assert listener.accept("/other", ok_headers, io.BytesIO(b"{}")) == 404
    assert listener.accept("/alert", {"Content-Length": "2"}, io.BytesIO(b"{}")) == 401
    big = dict(ok_headers, **{"Content-Length": str(10 ** 6)})
    assert listener.accept("/alert", big, io.BytesIO(b"")) == 413
    listener.stop()


def test_install_alert_agent_dry_run_plans_every_node(monkeypatch):
    cls = action_class("install_alert_agent")
    cfg = {"clusters": {"lab": {"nodes": [{"name": "server1", "address": "10.0.0.1"},
                                          {"name": "server2", "address": "10.0.0.2"}]}}}
    ok, out = cls(config=cfg).run(cluster="lab", recipient_url="http://10.0.0.254:8765/alert",
                                  api_key="abcdefgh12", dry_run=True)
    assert ok, out
    hosts = [c["host"] for c in out["commands"]]
    assert hosts.count("server1") == 10 and hosts.count("server2") == 8
    # written under a temporary name, then renamed over the agent (never half-written)
    writes = [c["argv"] for c in out["commands"] if c["argv"][0] in ("tee", "mv")]
    assert writes[0][0] == "tee" and writes[0][1].startswith(
        "/usr/local/lib/pacemaker_update/alert_agent.sh.new-")
    assert writes[1] == ["mv", "-f", "--", writes[0][1],
                         "/usr/local/lib/pacemaker_update/alert_agent.sh"]
    assert all(c.get("planned") for c in out["commands"])
    assert out["commands"][-1]["argv"][:4] == ["cibadmin", "--modify", "--allow-create",
                                               "--scope"]
    assert not any("abcdefgh12" in json.dumps(c) for c in out["commands"])
    bad = cls(config=cfg).run(cluster="lab", recipient_url="http://x/alert?$(reboot)",
                              dry_run=True)
    assert bad[0] is False and bad[1]["error"]["code"] == "INVALID_RECIPIENT"
    assert bad[1]["commands"] == []


@pytest.mark.skipif(shutil.which("cibadmin") is None, reason="pacemaker-cli-utils missing")
def test_alert_fragment_registers_in_a_real_cib(tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    env = dict(os.environ, CIB_file=str(cib))
    xml = alert_xml("lab", "https://st2.example/api/v1/webhooks/pacemaker_update_alert",
                    "/etc/pacemaker_update/alert.key")
    for _ in range(2):  # idempotent
        subprocess.run(register_alert_argv(xml), env=env, check=True, capture_output=True)
    shown = subprocess.run(["cibadmin", "-Q", "-o", "alerts"], env=env, capture_output=True,
                           text=True, check=True).stdout
    assert shown.count("<alert ") == 1
    assert 'value="https://st2.example/api/v1/webhooks/pacemaker_update_alert"' in shown
    assert 'name="pu_cluster" value="lab"' in shown
