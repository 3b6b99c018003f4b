"""update_control (progress / resume / cancel) against a REAL local HTTP server on
127.0.0.1 that speaks the st2 executions endpoints it calls; every request is checked
(method, path, query, token header, JSON body)."""

import importlib.util
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-control-1"
REF = "pacemaker_update.update_cluster"


def load_action():
    spec = importlib.util.spec_from_file_location("act_update_control",
                                                  ROOT / "actions" / "update_control.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UpdateControl


class FakeSt2:
    """Executions kept in a dict; answers like st2 (list by action+status, get, children, put)."""

    def __init__(self):
        self.executions = {}
        self.children = {}
        self.requests = []
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
                fake.requests.append({"method": self.command, "path": self.path,
                                      "token": self.headers.get("X-Auth-Token"),
                                      "content_type": self.headers.get("Content-Type"),
                                      "body": body})
                return body

            def do_GET(self):  # noqa: N802
                self._record()
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                if self.headers.get("X-Auth-Token") != TOKEN:
                    return self._answer(401, {"faultstring": "Unauthorized"})
                if parts.path == "/api/v1/executions":
                    found = [e for e in fake.executions.values()
                             if e["action"]["ref"] == query["action"][0]
                             and e["status"] == query["status"][0]]
                    return self._answer(200, found)
                pieces = parts.path.split("/")
                if len(pieces) == 5 and pieces[4] in fake.executions:
                    return self._answer(200, fake.executions[pieces[4]])
                if len(pieces) == 6 and pieces[5] == "children":
                    return self._answer(200, fake.children.get(pieces[4], []))
                return self._answer(404, {"faultstring": "not found"})

            def do_PUT(self):  # noqa: N802
                body = self._record()
                execution = fake.executions.get(self.path.split("/")[-1])
                if execution is None:
                    return self._answer(404, {"faultstring": "not found"})
                execution["status"] = body["status"]
                return self._answer(200, execution)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def add(self, ex_id, cluster, status, result=None, started="2024-05-01T02:00:00Z"):
        self.executions[ex_id] = {"id": ex_id, "action": {"ref": REF}, "status": status,
                                  "start_timestamp": started, "result": result or {},
                                  "parameters": {"cluster": cluster,
                                                 "method": "rolling_standby"}}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def st2(monkeypatch):
    fake = FakeSt2()
    monkeypatch.setenv("ST2_ACTION_API_URL", fake.url)
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", TOKEN)
    yield fake
    fake.close()


def run(cluster, operation):
    return load_action()(config={}).run(cluster=cluster, operation=operation)


def test_progress_reads_the_published_progress_of_the_clusters_update(st2):
    st2.add("ex-other", "web", "running")
    st2.add("ex-1", "db", "paused", result={"output": {
        "current_node": "db02", "current_step": "update_packages",
        "progress": [{"node": None, "step": "preflight"}, {"node": "db01", "step": "standby"},
                     {"node": "db01", "step": "online"}]}})
    ok, out = run("db", "progress")
    assert ok, out
    assert out["data"]["execution_id"] == "ex-1" and out["data"]["current_node"] == "db02"
    assert out["message"] == ("update ex-1 of db (rolling_standby) is paused: node db02, "
                              "step update_packages; 3 step(s) done on 1 node(s)")
    gets = [r["path"] for r in st2.requests]
    assert "/api/v1/executions/ex-1" in gets
    listed = [urllib.parse.parse_qs(urllib.parse.urlsplit(p).query) for p in gets
              if p.startswith("/api/v1/executions?")]
    assert {q["action"][0] for q in listed} == {REF}
    assert {"running", "paused"} <= {q["status"][0] for q in listed}
    assert all(r["token"] == TOKEN and r["method"] == "GET" for r in st2.requests)


def test_progress_of_a_running_update_falls_back_to_its_newest_task(st2):
    st2.add("ex-2", "db", "running")
    st2.children["ex-2"] = [
        {"id": "c1", "runner": {"name": "orquesta"}, "start_timestamp": "2024-05-01T02:00:01Z",
         "action": {"ref": "pacemaker_update.rolling_standby"}},
        {"id": "c2", "runner": {"name": "python-script"},
         "start_timestamp": "2024-05-01T02:00:05Z", "parameters": {"node": "db01"},
         "context": {"orquesta": {"task_name": "standby"}},
         "action": {"ref": "pacemaker_update.set_node_standby"}},
        {"id": "c3", "runner": {"name": "python-script"},
         "start_timestamp": "2024-05-01T02:03:00Z", "parameters": {"node": "db01"},
         "context": {"orquesta": {"task_name": "update_packages"}},
         "action": {"ref": "pacemaker_update.update_packages"}},
    ]
    ok, out = run("db", "progress")
    assert ok and out["data"]["current_step"] == "update_packages"
    assert out["message"] == "update ex-2 of db (rolling_standby) is running: node db01, " \
                             "step update_packages"
    assert "/api/v1/executions/ex-2/children?depth=-1" in [r["path"] for r in st2.requests]


def test_resume_puts_resuming_on_the_paused_update_only(st2):
    st2.add("ex-3", "db", "paused")
    st2.add("ex-4", "web", "paused")
    ok, out = run("db", "resume")
    assert ok and out["message"] == "update ex-3 of db: resumed"
    puts = [r for r in st2.requests if r["method"] == "PUT"]
    assert puts == [{"method": "PUT", "path": "/api/v1/executions/ex-3", "token": TOKEN,
                     "content_type": "application/json", "body": {"status": "resuming"}}]
    assert st2.executions["ex-4"]["status"] == "paused"


def test_resume_of_a_running_update_is_refused_without_touching_it(st2):
    st2.add("ex-5", "db", "running")
    ok, out = run("db", "resume")
    assert not ok and out["error"]["code"] == "NOT_PAUSED"
    assert "is running, not paused" in out["message"]
    assert not [r for r in st2.requests if r["method"] == "PUT"]


def test_cancel_puts_canceling(st2):
    st2.add("ex-6", "db", "running")
    ok, out = run("db", "cancel")
    assert ok and out["data"]["status"] == "canceling"
    assert [r["body"] for r in st2.requests if r["method"] == "PUT"] == [{"status": "canceling"}]
    assert "canceling (after its running step)" in out["message"]


def test_no_update_of_that_cluster_is_a_coded_error(st2):
    st2.add("ex-7", "web", "running")
    for operation in ("progress", "resume", "cancel"):
        ok, out = run("db", operation)
        assert not ok and out["error"]["code"] == "NO_UPDATE", out
        assert "no " in out["message"] and "update of cluster db" in out["message"]
    assert not [r for r in st2.requests if r["method"] == "PUT"]


def test_api_unreachable_refused_and_not_configured(monkeypatch, st2):
    st2.add("ex-8", "db", "running")
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", "wrong")
    ok, out = run("db", "progress")
    assert not ok and out["error"]["code"] == "ST2_API_REFUSED" and "401" in out["message"]
    port = st2.server.server_address[1]
    st2.close()
    monkeypatch.setenv("ST2_ACTION_API_URL", f"http://127.0.0.1:{port}/api/v1")
    ok, out = run("db", "cancel")
    assert not ok and out["error"]["code"] == "ST2_API_UNREACHABLE"
    monkeypatch.delenv("ST2_ACTION_API_URL")
    ok, out = run("db", "cancel")
    assert not ok and out["error"]["code"] == "ST2_API_NOT_CONFIGURED"


@pytest.mark.parametrize("cluster, operation, code", [
    ("db;rm", "progress", "INVALID_CLUSTER"), ("db", "pause", "INVALID_INPUT")])
def test_bad_input_is_refused_before_any_api_call(st2, cluster, operation, code):
    ok, out = run(cluster, operation)
    assert not ok and out["error"]["code"] == code
    assert st2.requests == []
