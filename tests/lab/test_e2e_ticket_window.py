"""End to end on the real lab: the two unattended ways an update starts (issue 7).

1. A Jira-style change ticket (docs/TICKETING.md) -> `pacemaker-update run --from-ticket`
   -> rolling_standby of httpd on the 2-node lab -> `accepted` and the final status with the
   report POSTed to a real HTTP server on 127.0.0.1 started here. The same change id again
   is refused (exit 2): nothing runs, no second `accepted`.
2. A maintenance window (`run update_cluster --window ...`) that closes between the two
   nodes: the run ends at the node boundary with every node in service (report status
   `window_closed`); a later run in a wide window finishes the update.

About the clock of case 2. check_maintenance_window expects a node to take the longest
measured earlier node step, or 1800 s for the first node (no measurement yet), plus a
300 s margin; the workflows pass neither default, so the first node needs >= 35 min left
in the window and the second one only (measured + 5 min). A lab node takes well under a
minute, so with the real clock a window cannot close between the two nodes unless the
test waits ~30 min. The CLI of case 2 therefore runs through a small launcher that lets
the *window check* see the time a little later once a node has been done (`LAPSE`
seconds, as if node 1 and what followed it - e.g. waiting for an approval, which the
measured step does not count - had used most of the window). Everything else is real:
the CLI, the window parsing, the workflow, the measured step_seconds the estimate uses,
the cluster, SSH and the package transactions; the second run uses the real clock.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import CLI, changing_transactions, cli_argv, end_state, run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PACKAGE = "httpd"
OLD, NEW = "2.4.57-1.el9", "2.4.62-1.el9"  # the lab repo (docs/LAB.md)
MARGIN = 300  # check_maintenance_window's default safety_margin_seconds
FIRST_NODE_NEEDS = 1800 + MARGIN  # its default_step_seconds + margin


@pytest.fixture
def lab(lab_factory: Any) -> Any:
    handle = lab_factory(2, "crmsh", False)
    handle.reset()
    return handle


# --------------------------------------------------------------- the ticket's callback

class CallbackServer:
    """A real HTTP server on 127.0.0.1 that records every POSTed JSON body (answers 200)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                outer.paths.append(self.path)
                outer.bodies.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def statuses(self) -> list[str]:
        return [b["status"] for b in self.bodies]


@pytest.fixture
def callback() -> Iterator[CallbackServer]:
    server = CallbackServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def jira_payload(change_id: str, port: int) -> dict[str, Any]:
    """docs/TICKETING.md's Jira-style payload, smart values filled in, for the lab."""
    return {"change_id": change_id, "cluster": "lab", "method": "rolling_standby",
            "packages": [PACKAGE], "requester": "jane.doe@example.com",
            "callback_url": f"http://127.0.0.1:{port}/jira/{change_id}/pacemaker",
            "failback": "original",
            "ticket": {"system": "jira", "url": f"https://jira.example.com/browse/{change_id}",
                       "summary": "Update httpd on the lab cluster"}}


def ticket_argv(lab: Any, state_dir: Path, payload_file: Path) -> list[str]:
    return [str(CLI), "run", "--from-ticket", str(payload_file), "--config",
            str(lab.config_path), "--state-dir", str(state_dir), "--yes", "--json"]


def node_entries(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Node -> entry, from the workflow's report (a mapping) or the callback's JSON report
    (chatops.report.build_report: a list of rows in plan order)."""
    nodes = report["nodes"]
    return nodes if isinstance(nodes, dict) else {row["node"]: row for row in nodes}


def assert_versions(report: dict[str, Any], node: str, before: str, after: str) -> None:
    """The report names the node with the package's version before and after."""
    entry = node_entries(report)[node]
    assert (entry.get("versions_before") or {}).get(PACKAGE) == before, entry
    assert (entry.get("versions_after") or {}).get(PACKAGE) == after, entry


def test_ticket_updates_and_calls_back_once(lab: Any, callback: CallbackServer,
                                            tmp_path: Path) -> None:
    change_id = "OPS-4711"
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(jira_payload(change_id, callback.port)))
    state_dir = tmp_path / "state"
    for node in lab.nodes:
        assert lab.package_db(node)[PACKAGE] == OLD

    run = run_cli(ticket_argv(lab, state_dir, payload_file))
    print(f"\n[ticket] first delivery: rc={run.rc} wall={run.wall:.1f} s "
          f"callbacks={callback.statuses()}")
    assert run.rc == 0, run.explain()
    assert run.report["status"] == "succeeded", run.explain()

    # the ticket's side: accepted, then the final status with the report
    assert callback.statuses() == ["accepted", "succeeded"], callback.bodies
    assert all(p == f"/jira/{change_id}/pacemaker" for p in callback.paths)
    accepted, final = callback.bodies
    for body in (accepted, final):
        assert body["change_id"] == change_id
        assert body["cluster"] == "lab" and body["method"] == "rolling_standby"
        assert body["requester"] == "jane.doe@example.com"
        assert body["ticket"]["system"] == "jira"  # echoed back in every callback
    assert accepted["execution_id"] and final["execution_id"] == accepted["execution_id"]
    report = final["report"]
    assert report and report["status"] == "succeeded", final
    assert sorted(node_entries(report)) == sorted(lab.nodes)
    for node in lab.nodes:
        assert_versions(report, node, OLD, NEW)
        assert node_entries(report)[node]["ok"] is True
        assert node_entries(report)[node]["changed"] == [PACKAGE]
        assert node in (final["report_markdown"] or "")

    # the cluster's side
    for node in lab.nodes:
        assert lab.package_db(node)[PACKAGE] == NEW
        assert len(changing_transactions(lab, node, PACKAGE)) == 1
    state = end_state(lab)
    assert not state.problems, state.problems

    # the same change id again: refused, nothing runs, the ticket hears nothing new
    logs = {node: lab.package_log(node) for node in lab.nodes}
    again = run_cli(ticket_argv(lab, state_dir, payload_file))
    print(f"[ticket] second delivery: rc={again.rc} wall={again.wall:.1f} s "
          f"stderr={again.stderr.strip()[-300:]}")
    assert again.rc == 2, again.explain()
    assert again.doc and again.doc["error"]["code"] == "TICKET_DUPLICATE", again.doc
    assert "already received" in again.stderr
    assert {node: lab.package_log(node) for node in lab.nodes} == logs
    assert callback.statuses() == ["accepted", "succeeded"], callback.bodies


# --------------------------------------------------------------- the maintenance window

# Runs the CLI; the window check sees the clock LAPSE seconds later once a node is done
# (its step_seconds is not empty). Only check_window's `now` is touched (module docstring).
LAUNCHER = """
import datetime as dt, os, sys
from pacemaker_update.chatops import gate
real_check = gate.check_window
LAPSE = dt.timedelta(seconds=float(os.environ["PMU_E2E_WINDOW_LAPSE"]))

def check_window(config, cluster, step_seconds, *rest, **kw):
    rest = list(rest)
    if step_seconds:
        rest[5] = rest[5] + LAPSE  # now
    return real_check(config, cluster, step_seconds, *rest, **kw)

gate.check_window = check_window
from pacemaker_update.cli import main
sys.exit(main())
"""


def window_text(start: dt.datetime, minutes: int) -> str:
    """`--window` of every day from `start` (UTC, minute precision) for `minutes`."""
    return f"{start:%H:%M}/{minutes}m UTC"


def window_argv(lab: Any, state_dir: Path, window: str, launcher: Path | None = None
                ) -> list[str]:
    argv = cli_argv(lab, state_dir, "rolling_standby", [PACKAGE], failback="original")
    argv += ["--window", window]
    if launcher is not None:
        argv = [sys.executable, str(launcher)] + argv[1:]
    return argv


def test_window_closes_between_nodes_then_next_window_finishes(
        lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    primary = lab.summary()["resources"]["web"][0]
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)

    # a 40-minute window opened this minute: enough for the first node (35 min needed);
    # the lapse puts the second node's check ~290 s (minus the real time since now) before
    # its end: open, but shorter than the measured node step + the 300 s margin
    now = dt.datetime.now(dt.timezone.utc)
    opened = now.replace(second=0, microsecond=0)
    end = opened + dt.timedelta(minutes=40)
    assert (end - now).total_seconds() > FIRST_NODE_NEEDS + 60
    lapse = (end - now).total_seconds() - 290
    monkeypatch.setenv("PMU_E2E_WINDOW_LAPSE", str(lapse))
    state_dir = tmp_path / "state"

    first = run_cli(window_argv(lab, state_dir, window_text(opened, 40), launcher))
    report = first.report
    print(f"\n[window] closing window: rc={first.rc} wall={first.wall:.1f} s "
          f"status={report.get('status')} nodes_done={report.get('nodes_done')} "
          f"step_seconds={report.get('step_seconds')} "
          f"checks={json.dumps(report.get('window_checks'))[:900]}")
    assert first.rc == 0, first.explain()  # the run ends normally (workflow succeeded)
    assert first.doc["status"] == "succeeded", first.explain()
    assert report["status"] == "window_closed", first.explain()
    order = report["order"]
    assert len(order) == 2 and report["nodes_done"] == order[:1], report
    done, left = order
    stopped = report["stopped"]
    assert stopped["node"] == left and stopped["code"] == "WINDOW_TOO_SHORT", stopped

    # the estimate: first node the default, second node the measured first node
    checks = report["window_checks"]
    assert [c["node"] for c in checks] == [done, left], checks
    assert checks[0]["decision"]["allowed"] is True
    assert checks[0]["decision"]["expected_seconds"] == 1800
    refused = checks[1]["decision"]
    assert refused["allowed"] is False and refused["code"] == "WINDOW_TOO_SHORT"
    assert refused["expected_seconds"] == pytest.approx(max(report["step_seconds"]), abs=0.1)
    assert 0 < refused["remaining_seconds"] < refused["expected_seconds"] + MARGIN

    # every node in service, nothing left in standby/maintenance, the service running
    state = end_state(lab)
    assert not state.problems, state.problems
    assert lab.package_db(done)[PACKAGE] == NEW
    assert lab.package_db(left)[PACKAGE] == OLD
    assert changing_transactions(lab, left, PACKAGE) == []

    # the next window (a wide one, real clock): a new run finishes the update
    now = dt.datetime.now(dt.timezone.utc)
    wide = window_text(now.replace(second=0, microsecond=0) - dt.timedelta(minutes=30), 180)
    second = run_cli(window_argv(lab, state_dir, wide))
    report = second.report
    print(f"[window] next window {wide!r}: rc={second.rc} wall={second.wall:.1f} s "
          f"status={report.get('status')} changed="
          f"{ {n: e.get('changed') for n, e in (report.get('nodes') or {}).items()} }")
    assert second.rc == 0, second.explain()
    assert report["status"] == "succeeded", second.explain()
    for node in lab.nodes:
        assert lab.package_db(node)[PACKAGE] == NEW
        # each node's package changed exactly once over both runs
        assert len(changing_transactions(lab, node, PACKAGE)) == 1, lab.package_log(node)
    assert_versions(report, left, OLD, NEW)
    # documented design: the finished node goes through standby/online once more, no change
    assert_versions(report, done, NEW, NEW)
    state = end_state(lab, primary=primary)
    assert not state.problems, state.problems


def test_ticket_in_a_window_that_closes_is_not_told_succeeded(
        lab: Any, callback: CallbackServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticket run (`--from-ticket ... --window`) that stops at the window's node boundary
    has updated one node of two: the change must not be reported `succeeded` to the ticket
    (a Jira/ServiceNow automation would close the change). The workflow calls this
    "paused at node boundary; resume in the next window"."""
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)
    now = dt.datetime.now(dt.timezone.utc)
    opened = now.replace(second=0, microsecond=0)
    end = opened + dt.timedelta(minutes=40)
    monkeypatch.setenv("PMU_E2E_WINDOW_LAPSE", str((end - now).total_seconds() - 290))
    change_id = "OPS-4712"
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(jira_payload(change_id, callback.port)))
    argv = [sys.executable, str(launcher)] + ticket_argv(
        lab, tmp_path / "state", payload_file)[1:] + ["--window", window_text(opened, 40)]

    run = run_cli(argv)
    print(f"\n[ticket+window] rc={run.rc} wall={run.wall:.1f} s "
          f"report={run.report.get('status')} callbacks={callback.statuses()}")
    assert run.report["status"] == "window_closed", run.explain()
    state = end_state(lab)
    assert not state.problems, state.problems
    assert callback.statuses()[0] == "accepted", callback.bodies
    final = callback.bodies[-1]
    assert final["report"]["status"] == "window_closed", final
    assert final["status"] != "succeeded", (
        "the ticket was told the change succeeded while one node is not updated: "
        f"{final['message']}")
