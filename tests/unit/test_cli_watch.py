"""`pacemaker-update watch` and the watcher beside `run`, as subprocesses.

The cluster's only node is 127.0.0.1 on a closed port, so every crm_mon poll fails (the
watcher reports the cluster unreachable, once); events come from REAL HTTP alert POSTs
into the --listen address, the same JSON the alert agent sends.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import yaml
from pacemaker_update.detect import SqliteLedgerStore, new_entry

PACK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "clipack"))
ALERT = {"cluster": "t1", "kind": "resource", "node": "n1", "rsc": "vip", "task": "stop",
         "rc": "0", "target_rc": "0", "status": "0", "desc": "ok"}


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"clusters": {"t1": {
        "nodes": [{"name": "n1", "address": "127.0.0.1"}],
        "ssh": {"port": closed_port(), "connect_timeout": 2, "use_agent": False}}}}))
    return str(path)


class Proc:
    """A CLI subprocess whose stderr is collected line by line as it comes."""

    def __init__(self, tmp_path, *args):
        cmd = [sys.executable, "-m", "pacemaker_update.cli", *args,
               "--state-dir", str(tmp_path / "state")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.err, self.out = [], []
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.out),
                         daemon=True).start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_line(self, sink, text, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(sink):
                if text in line:
                    return line
            if self.proc.poll() is not None and not any(text in x for x in sink):
                time.sleep(0.2)
                if not any(text in x for x in sink):
                    break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen; stderr={self.err} stdout={self.out}")

    def alert_url(self):
        return self.wait_line(self.err, "alert listener on ").rsplit(" ", 1)[-1]

    def finish(self, timeout=60):
        self.proc.wait(timeout=timeout)
        time.sleep(0.2)  # let the pumps drain
        return self.proc.returncode


def read(path):
    with open(path) as handle:
        return handle.read()


def post(url, body):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


def test_watch_prints_json_lines_judges_the_ledger_and_stops_on_ctrl_c(tmp_path, config):
    state = str(tmp_path / "state")
    ledger = SqliteLedgerStore.in_state_dir(state)
    ledger.put(new_entry("t1", "run1", "standby_n2", "standby", "n2"))
    proc = Proc(tmp_path, "watch", "--cluster", "t1", "--config", config, "--listen",
                "127.0.0.1:0", "--interval", "0.5", "--json")
    url = proc.alert_url()
    assert post(url, ALERT) == 202
    record = json.loads(proc.wait_line(proc.out, '"resource_stopped"'))
    assert record["resource"] == "vip" and record["node"] == "n1"
    assert record["unexpected"] is True and record["expected"] is False
    assert record["source"] == "alert" and "vip stopped on n1" in record["message"]
    assert post(url, dict(ALERT, node="n2", rsc="db")) == 202  # n2 is in standby: expected
    record = json.loads(proc.wait_line(proc.out, '"db"'))
    assert record["expected"] is True and record["unexpected"] is False
    unreachable = json.loads(proc.wait_line(proc.out, "cluster_unreachable"))
    assert unreachable["cluster"] == "t1"
    proc.proc.send_signal(signal.SIGINT)
    assert proc.finish() == 0
    assert any("watch stopped" in line for line in proc.err)
    assert sum("cluster_unreachable" in line for line in proc.out) == 1  # once, not per poll


def test_watch_text_lines(tmp_path, config):
    proc = Proc(tmp_path, "watch", "--cluster", "t1", "--config", config, "--listen",
                "127.0.0.1:0", "--interval", "5")
    assert post(proc.alert_url(), ALERT) == 202
    line = proc.wait_line(proc.out, "resource_stopped")
    assert "vip@n1" in line and "UNEXPECTED" in line and "vip stopped on n1" in line
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0


@pytest.mark.parametrize("args, text", [
    (["--cluster", "nope"], "cluster 'nope' is not configured"),
    (["--cluster", "t1", "--listen", "localhost"], "--listen wants HOST:PORT"),
    (["--cluster", "t1", "--interval", "0"], "--interval must be > 0"),
])
def test_watch_bad_input_exits_2(tmp_path, config, args, text):
    proc = Proc(tmp_path, "watch", "--config", config, *args)
    assert proc.finish() == 2
    assert any(text in line for line in proc.err), proc.err


def test_unexpected_failover_pauses_the_run_and_says_why(tmp_path, config):
    log, gate = str(tmp_path / "log"), tmp_path / "hold"
    gate.write_text("")  # step a runs until the pause is requested, however loaded the machine
    proc = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                "--config", config, "--param", "path=" + log, "--param", f"hold={gate}",
                "--listen", "127.0.0.1:0", "--watch-interval", "0.5", "--json")
    url = proc.alert_url()
    deadline = time.monotonic() + 30
    while not (os.path.exists(log) and "start a" in read(log)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert post(url, ALERT) == 202
    proc.wait_line(proc.err, "unexpected failover: vip stopped on n1")
    gate.unlink()
    assert proc.finish() == 3
    data = json.loads("\n".join(proc.out))
    assert data["status"] == "paused"
    cause = data["pause_cause"]
    assert cause["kind"] == "unexpected_failover" and cause["source"] == "watcher"
    assert cause["event"]["resource"] == "vip" and cause["event"]["node"] == "n1"
    assert any("watch: " in x and "UNEXPECTED" in x for x in proc.err)
    assert any("unexpected failover: vip stopped on n1" in x for x in proc.err)
    with open(log) as handle:
        assert handle.read().split("\n")[:-1] == ["start a", "end a"]
    show = Proc(tmp_path, "show", data["run_id"], "--pack-dir", PACK, "--json")
    assert show.finish() == 0
    assert json.loads("\n".join(show.out))["pause_cause"]["event"]["resource"] == "vip"
    text = Proc(tmp_path, "status", data["run_id"])
    assert text.finish() == 0 and any("paused by unexpected_failover" in x for x in text.out)
    resume = Proc(tmp_path, "resume", data["run_id"], "--pack-dir", PACK, "--no-watch",
                  "--json")
    assert resume.finish() == 0, resume.err
    with open(log) as handle:
        assert handle.read().split("\n")[:-1][-2:] == ["start c", "end c"]


def test_run_text_output_prints_the_event_and_no_watch_disables_it(tmp_path, config):
    gate = tmp_path / "hold"
    gate.write_text("")  # step a runs until the pause is requested
    proc = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                "--config", config, "--param", f"hold={gate}", "--listen", "127.0.0.1:0")
    assert post(proc.alert_url(), ALERT) == 202
    proc.wait_line(proc.err, "unexpected failover: vip stopped on n1")
    gate.unlink()
    assert proc.finish() == 3
    assert "paused by unexpected_failover: vip stopped on n1 (alert)" in proc.out
    assert any(x.startswith("event: {") for x in proc.out)
    # The paused run still holds cluster t1 (one update per cluster): a new run is refused
    # until it is resumed or canceled.
    busy = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                "--config", config, "--no-watch")
    assert busy.finish() == 2 and any("CLUSTER_BUSY" in x for x in busy.err + busy.out)
    paused = Proc(tmp_path, "history", "--json")
    assert paused.finish() == 0
    run_id = next(r["id"] for r in json.loads("\n".join(paused.out))
                  if r["status"] == "paused")
    assert Proc(tmp_path, "cancel", run_id).finish() in (0, 4)
    proc = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                "--config", config, "--no-watch")
    assert proc.finish() == 0
    assert not any(x.startswith("watch:") for x in proc.err)
    proc = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                "--config", config)
    assert proc.finish() == 0  # watched, nothing happened: the run just succeeds
    assert any(x.startswith("watch: watching cluster t1") for x in proc.err)


def test_run_refuses_to_start_when_the_watcher_cannot_listen(tmp_path, config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = Proc(tmp_path, "run", "update_cluster", "--pack-dir", PACK, "--cluster", "t1",
                    "--config", config, "--listen", f"127.0.0.1:{port}")
        assert proc.finish() == 2
    assert any("WATCH_FAILED" in x for x in proc.err), proc.err
    history = Proc(tmp_path, "history", "--json")
    assert history.finish() == 0 and json.loads("\n".join(history.out)) == []
