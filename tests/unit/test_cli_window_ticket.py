"""`run --window` and `run --from-ticket` as subprocesses; ticket callbacks go to a REAL
HTTP server on 127.0.0.1 started here."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PACK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "clipack"))


def call(tmp_path, *args, stdin=None):
    cmd = [sys.executable, "-m", "pacemaker_update.cli", *args, "--pack-dir", PACK,
           "--state-dir", str(tmp_path / "state")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, input=stdin)
    return proc.returncode, proc.stdout, proc.stderr


def history(tmp_path):
    rc, out, _ = call(tmp_path, "history", "--json")
    assert rc == 0
    return json.loads(out)


def daily_window(offset_minutes, duration):
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=offset_minutes)
    return f"{start:%H:%M}/{duration} UTC"


def test_outside_the_window_nothing_starts_and_the_next_opening_is_named(tmp_path):
    window = daily_window(180, "1h")
    rc, out, err = call(tmp_path, "run", "update_cluster", "--cluster", "c1", "--no-watch",
                        "--window", window)
    assert rc == 2
    assert "OUTSIDE_WINDOW" in err and "outside the maintenance window" in err
    opens = window.split("/")[0]  # the window's own start (not the clock after the call: a
    # minute may have turned meanwhile, as it did in a CI run under load)
    assert "the next window opens at" in err and f"T{opens}:00" in err
    assert history(tmp_path) == []


def test_inside_the_window_the_workflow_gets_it(tmp_path):
    window = daily_window(-5, "2h")
    rc, out, err = call(tmp_path, "run", "update_cluster", "--cluster", "c1", "--no-watch",
                        "--window", window, "--json")
    assert rc == 0, err
    report = json.loads(out)["output"]["report"]
    assert report["window_enforced"] is True and report["window"] == window


@pytest.mark.parametrize("window, text", [
    ("Sat 25:00/2h", "is not a time"), ("sometime", "is not like"),
    ("Mon 02:00/2h Mars/Olympus", "Mars/Olympus")])
def test_a_bad_window_is_refused(tmp_path, window, text):
    rc, _, err = call(tmp_path, "run", "update_cluster", "--cluster", "c1", "--no-watch",
                      "--window", window)
    assert rc == 2 and text in err
    assert history(tmp_path) == []


class Callbacks:
    """Collects the JSON bodies POSTed to /cb."""

    def __init__(self):
        self.bodies = []
        sink = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                sink.append({"path": self.path,
                             "content_type": self.headers.get("Content-Type"),
                             "body": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"

    def statuses(self):
        return [b["body"]["status"] for b in self.bodies]


@pytest.fixture
def callbacks():
    server = Callbacks()
    yield server
    server.server.shutdown()
    server.server.server_close()


def ticket(tmp_path, callbacks, **over):
    payload = {"change_id": "CHG-1001", "cluster": "c1", "method": "rolling_standby",
               "packages": ["pacemaker"], "requester": "alice", "callback_url": callbacks.url,
               "ticket": {"key": "OPS-7"}}
    payload.update(over)
    path = tmp_path / f"ticket-{len(list(tmp_path.glob('ticket-*')))}.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_ticket_starts_update_cluster_and_reports_back_once(tmp_path, callbacks):
    path = ticket(tmp_path, callbacks)
    rc, out, err = call(tmp_path, "run", "--from-ticket", path, "--no-watch", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["workflow"] == "clipack.update_cluster" and data["status"] == "succeeded"
    assert data["output"]["report"]["packages"] == ["pacemaker"]
    assert data["ticket"] == {"change_id": "CHG-1001", "status": "succeeded", "delivered": True}
    assert callbacks.statuses() == ["accepted", "succeeded"]
    accepted, done = (b["body"] for b in callbacks.bodies)
    assert accepted["execution_id"] == done["execution_id"] == data["run_id"]
    assert done["ticket"] == {"key": "OPS-7"} and done["report"]["cluster"] == "c1"
    assert all(b["content_type"] == "application/json" and b["path"] == "/cb"
               for b in callbacks.bodies)
    rc, out, err = call(tmp_path, "run", "--from-ticket", path, "--no-watch")
    assert rc == 2
    assert "change CHG-1001 was already received" in err and data["run_id"] in err
    assert "nothing started" in err
    assert len(history(tmp_path)) == 1 and len(callbacks.bodies) == 2


def test_ticket_from_stdin_outside_the_window_is_rejected_and_told(tmp_path, callbacks):
    with open(ticket(tmp_path, callbacks, change_id="CHG-2")) as handle:
        payload = handle.read()
    # a window that closed: refused before anything starts, the ticket hears "rejected"
    rc, _, err = call(tmp_path, "run", "--from-ticket", "-", "--no-watch", "--window",
                      daily_window(180, "1h"), stdin=payload)
    assert rc == 2 and "outside the maintenance window" in err
    assert callbacks.statuses() == ["rejected"] and history(tmp_path) == []


@pytest.mark.parametrize("over, field", [
    ({"callback_url": "ftp://x/cb"}, "callback_url"), ({"method": "yolo"}, "method"),
    ({"cluster": "c 1"}, "cluster"), ({"extra": 1}, "extra")])
def test_an_invalid_ticket_is_refused_before_anything(tmp_path, callbacks, over, field):
    rc, _, err = call(tmp_path, "run", "--from-ticket", ticket(tmp_path, callbacks, **over),
                      "--no-watch")
    assert rc == 2 and "INVALID_TICKET" in err and f"'{field}'" in err
    assert callbacks.bodies == [] and history(tmp_path) == []


def test_from_ticket_takes_no_other_parameters(tmp_path, callbacks):
    rc, _, err = call(tmp_path, "run", "--from-ticket", ticket(tmp_path, callbacks),
                      "--cluster", "c2")
    assert rc == 2 and "takes the parameters from the ticket" in err
    rc, _, err = call(tmp_path, "run", "gated", "--from-ticket", ticket(tmp_path, callbacks))
    assert rc == 2 and "starts update_cluster" in err
    rc, _, err = call(tmp_path, "run")
    assert rc == 2 and "needs a WORKFLOW" in err
    assert callbacks.bodies == []
