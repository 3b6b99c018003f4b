"""Ticket payloads: validation naming the field, change-id idempotency (real SQLite run
store), callbacks against a real HTTP server on 127.0.0.1 (retries, give-up, no redirect)."""

import http.server
import json
import threading

import pytest
from pacemaker_update.chatops.intake import notify_ticket, start_from_ticket
from pacemaker_update.engine.store import RunStore
from pacemaker_update.errors import InvalidInputError
from pacemaker_update.ticket import (
    CallbackError,
    RunStoreLedger,
    build_callback_payload,
    post_callback,
    validate_ticket,
)


def payload(**changes):
    base = {"change_id": "CHG0031337", "cluster": "prod", "method": "rolling_standby",
            "packages": ["pacemaker", "corosync"], "requester": "alice",
            "callback_url": "http://127.0.0.1:9/cb", "failback": "original", "dry_run": False}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("changes,field", [
    ({"change_id": None}, "change_id"),
    ({"change_id": "CHG 1; rm -rf /"}, "change_id"),
    ({"cluster": "../etc"}, "cluster"),
    ({"method": "yolo"}, "method"),
    ({"packages": "pacemaker"}, "packages"),
    ({"packages": ["pacemaker", "-oDebug::x"]}, "packages.1"),
    ({"callback_url": "file:///etc/passwd"}, "callback_url"),
    ({"callback_url": "ftp://host/x"}, "callback_url"),
    ({"callback_url": "http://user:pw@host/x"}, "callback_url"),
    ({"dry_run": "yes"}, "dry_run"),
    ({"failback": "maybe"}, "failback"),
    ({"dryrun": True}, "dryrun"),
    ({"requester": None}, "requester"),
])
def test_bad_payload_error_names_the_field(changes, field):
    with pytest.raises(InvalidInputError) as exc:
        validate_ticket(payload(**changes))
    assert exc.value.code == "INVALID_TICKET" and exc.value.details["field"] == field
    assert repr(field) in exc.value.message


def test_good_payload_becomes_update_parameters():
    ticket = validate_ticket(json.dumps(payload()))
    assert ticket.update_parameters() == {
        "cluster": "prod", "method": "rolling_standby", "packages": ["pacemaker", "corosync"],
        "failback": "original", "dry_run": False, "approve": "none"}
    assert ticket.ledger_key == "pacemaker_update.ticket.CHG0031337"


class Callback(http.server.BaseHTTPRequestHandler):
    """Answers from a script: each POST pops the next status code."""

    script, bodies = [], []

    def do_POST(self):  # noqa: N802 - http.server's name
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        code = self.script.pop(0) if self.script else 200
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Callback.script, Callback.bodies = [], []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cb"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_callback_retries_twice_then_delivers(server):
    Callback.script, waits = [503, 500, 200], []
    out = post_callback(server, {"status": "succeeded"}, attempts=5, backoff=0.5,
                        sleep=waits.append)
    assert out["delivered"] and out["attempts"] == 3 and waits == [0.5, 1.0]
    assert len(Callback.bodies) == 3 and Callback.bodies[-1] == {"status": "succeeded"}


def test_callback_gives_up_after_n_tries_with_a_coded_error(server):
    Callback.script, waits = [503] * 10, []
    with pytest.raises(CallbackError) as exc:
        post_callback(server, {"status": "failed"}, attempts=4, backoff=1, max_backoff=2,
                      sleep=waits.append)
    assert exc.value.code == "CALLBACK_FAILED" and len(exc.value.details["tries"]) == 4
    assert waits == [1, 2, 2] and len(Callback.bodies) == 4


def test_callback_unreachable_and_refused_and_redirected(server):
    with pytest.raises(CallbackError) as exc:
        post_callback("http://127.0.0.1:9/none", {}, attempts=2, timeout=2, sleep=lambda s: None)
    assert exc.value.code == "CALLBACK_FAILED" and exc.value.details["tries"][0].startswith("error")
    for code in (404, 302):
        Callback.script = [code]
        with pytest.raises(CallbackError) as exc:
            post_callback(server, {}, attempts=3, sleep=lambda s: None)
        assert exc.value.code == "CALLBACK_REJECTED" and len(exc.value.details["tries"]) == 1


def test_same_change_id_never_starts_two_updates(tmp_path, server):
    store, started = RunStore(str(tmp_path)), []

    def starter(params):
        started.append(params)
        return f"run{len(started)}"

    poster = lambda url, body: post_callback(url, body, attempts=1)  # noqa: E731
    try:
        ok, first = start_from_ticket(payload(callback_url=server), RunStoreLedger(store),
                                      starter, poster)
        assert ok and first["data"]["execution_id"] == "run1" and first["data"]["callback"][
            "delivered"]
        assert Callback.bodies[-1]["status"] == "accepted"
        other = RunStore(str(tmp_path))  # another process's connection, same file
        ok, second = start_from_ticket(payload(callback_url=server), RunStoreLedger(other),
                                       starter, poster)
        other.close()
        assert ok and second["data"]["duplicate"] and len(started) == 1
        assert second["data"]["record"]["execution_id"] == "run1"
        report = {"cluster": "prod", "method": "rolling_standby", "status": "succeeded",
                  "nodes": {"node1": {"versions_before": {"pacemaker": "2.1.5"},
                                      "versions_after": {"pacemaker": "2.1.6"}}}}
        ok, told = notify_ticket(RunStoreLedger(store), "CHG0031337", "succeeded", report,
                                 poster=poster)
        assert ok and Callback.bodies[-1]["status"] == "succeeded"
        assert "2.1.5 → 2.1.6" in Callback.bodies[-1]["report_markdown"]
        assert Callback.bodies[-1]["report"]["nodes"][0]["changed"] == ["pacemaker"]
        assert RunStoreLedger(store).get("CHG0031337")["status"] == "succeeded"
    finally:
        store.close()


def test_bad_payload_starts_nothing(tmp_path):
    store = RunStore(str(tmp_path))
    try:
        ok, out = start_from_ticket(payload(method="yolo"), RunStoreLedger(store),
                                    lambda p: pytest.fail("started"))
        assert not ok and out["error"]["details"]["field"] == "method"
        assert store.kv_list("pacemaker_update.ticket.") == {}
    finally:
        store.close()


def test_callback_payload_status_is_checked():
    with pytest.raises(InvalidInputError):
        build_callback_payload(validate_ticket(payload()), "done")


def _notify_action(store):
    """actions/notify_callback.py as st2 instantiates it, its datastore the run store's kv."""
    import importlib.util
    import pathlib

    from pacemaker_update.engine.actions import ActionService
    path = pathlib.Path(__file__).resolve().parents[2] / "actions" / "notify_callback.py"
    spec = importlib.util.spec_from_file_location("notify_callback_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    action = module.NotifyCallback(config={})
    action.action_service = ActionService(store.kv_get, store.kv_set, store.kv_delete,
                                          "pacemaker_update", store.kv_list)
    return action


@pytest.mark.parametrize("report_status,told", [
    ("window_closed", "paused"), ("approval_expired", "paused"), ("denied", "canceled"),
    ("succeeded", "succeeded")])
def test_st2_rule_path_never_tells_a_ticket_succeeded_for_an_update_that_stopped_early(
        tmp_path, server, report_status, told):
    # rules/notify_update_result.yaml hands notify_callback the execution's status and
    # result; a workflow that paused itself at a window's end ends "succeeded" as an
    # execution, and only its report says the nodes are not all updated.
    from pacemaker_update.chatops.intake import EXECUTION_PREFIX
    from pacemaker_update.ticket import DatastoreLedger
    store = RunStore(str(tmp_path))
    try:
        action = _notify_action(store)
        DatastoreLedger(action.action_service).put("CHG0031337", {
            "ticket": payload(callback_url=server), "execution_id": "ex1", "status": "running"})
        action.action_service.set_value(EXECUTION_PREFIX + "ex1", "CHG0031337", local=False)
        result = {"output": {"report": {"cluster": "prod", "method": "rolling_standby",
                                        "status": report_status, "nodes": {}}}}
        ok, out = action.run(status="succeeded", execution_id="ex1", result=result)
        assert ok, out
        assert Callback.bodies[-1]["status"] == told == out["data"]["status"]
        assert DatastoreLedger(action.action_service).get("CHG0031337")["status"] == told
    finally:
        store.close()
