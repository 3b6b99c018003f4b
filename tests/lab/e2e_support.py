"""Helpers of the end-to-end tests (tests/lab/test_e2e_*.py): the `pacemaker-update` CLI as
a subprocess against the lab over SSH, a crm_mon watcher, the lab's reference outage, and
the end-state checks a user would make.

Nothing here knows the workflows' internals: the CLI's --json document, the lab's package
DB and package log, crm_mon and the VIP probe are the only sources.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "pacemaker-update"
if not CLI.exists():
    CLI = ROOT / ".venv" / "bin" / "pacemaker-update"

STACK = ["pacemaker", "pacemaker-cli", "pacemaker-libs", "corosync", "corosynclib"]
# What each method updates: the service's package where the stack keeps running, the stack
# itself where it is stopped (method 1 stops everything, so it takes both).
METHOD_PACKAGES = {
    "full_stop": STACK + ["httpd"],
    "cluster_maintenance": ["httpd"],
    "node_maintenance": ["httpd"],
    "rolling_standby": ["httpd"],
    "stack_update": STACK,
}
# The standby move's outage varies by up to one poll period of ocf:heartbeat:anything's stop
# (it checks its process once a second after SIGTERM; docs/LAB.md): one switchover is the
# measured reference plus that quantum.
STOP_POLL_QUANTUM = 1.0
# The probe's own granularity: a request in flight while the VIP moves hangs up to its
# timeout before it counts as failed (LabCluster.probe's default).
PROBE_TIMEOUT = 0.5


def one_switchover(reference: float) -> float:
    """The longest outage one switchover may cost on this lab: the measured reference plus
    the stop poll's quantum and the probe's granularity (both explained above)."""
    return reference + STOP_POLL_QUANTUM + PROBE_TIMEOUT


@dataclass
class CliRun:
    """One finished `pacemaker-update` process."""

    argv: list[str]
    rc: int
    doc: dict[str, Any] | None
    stderr: str
    wall: float

    @property
    def report(self) -> dict[str, Any]:
        """The workflow's structured report."""
        assert self.doc is not None, self.stderr[-3000:]
        return ((self.doc.get("output") or {}).get("report")) or {}

    def explain(self) -> str:
        """Enough of the output to see why a run failed."""
        failure = self.report.get("failure") if self.doc else None
        errors = (self.doc or {}).get("errors")
        return (f"rc={self.rc} failure={json.dumps(failure)[:1500]} "
                f"errors={json.dumps(errors)[:1500]}\nstderr tail:\n{self.stderr[-2500:]}")


def cli_argv(lab: Any, state_dir: Path, method: str, packages: list[str],
             **params: Any) -> list[str]:
    """`pacemaker-update run update_cluster ... --json` for the lab."""
    argv = [str(CLI), "run", "update_cluster", "--config", str(lab.config_path),
            "--cluster", "lab", "--state-dir", str(state_dir), "--yes", "--json",
            "--param", f"method={method}", "--param", "packages=" + json.dumps(packages)]
    for key, value in params.items():
        argv += ["--param", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    # e.g. PMU_E2E_RUN_ARGS=--no-watch to take the failover watcher out of a diagnosis run;
    # the tests run the CLI as a user does (watcher on) when it is unset
    return argv + os.environ.get("PMU_E2E_RUN_ARGS", "").split()


def run_cli(argv: list[str], timeout: float = 480) -> CliRun:
    """Run the CLI to its end; stdout is its one JSON document."""
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    wall = time.monotonic() - started
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        doc = None
    return CliRun(argv, proc.returncode, doc, proc.stderr, wall)


class CrmWatch:
    """Polls crm_mon (on any node that answers) in a thread: what a watching admin saw."""

    def __init__(self, lab: Any, interval: float = 0.3) -> None:
        self.lab, self.interval = lab, interval
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for node in self.lab.nodes:
                try:
                    res = self.lab.exec(node, ["crm_mon", "-1", "--output-as=xml"], timeout=10)
                except Exception:  # noqa: BLE001 - a node being stopped or booted
                    continue
                if res.returncode == 0:
                    from pmlab.cluster import summarize
                    self.samples.append((time.time(), summarize(res.stdout)))
                    break
            self._stop.wait(self.interval)

    def __enter__(self) -> CrmWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def seen(self, what: str) -> list[str]:
        """Nodes ever seen with node attribute `what` (standby, maintenance) true."""
        return sorted({n for _, s in self.samples for n, a in s["nodes"].items()
                       if a.get(what) == "true"})

    def maintenance_mode_seen(self) -> bool:
        """Was cluster-wide maintenance-mode ever on?"""
        return any(s["maintenance_mode"] for _, s in self.samples)

    def service_nodes(self) -> list[list[str]]:
        """Where web ran, sample after sample, collapsed to changes."""
        out: list[list[str]] = []
        for _, s in self.samples:
            where = sorted(s["resources"].get("web", []))
            if not out or out[-1] != where:
                out.append(where)
        return out


_REFERENCE: dict[tuple[int, str], float] = {}


def reference_outage(lab: Any) -> float:
    """The lab's own single-switchover outage: the longest the VIP probe sees while the
    node running the service is put in standby by hand with the front end (measured twice,
    once in each direction, on this configuration; cached per configuration)."""
    key = (lab.node_count, lab.frontend)
    if key in _REFERENCE:
        return _REFERENCE[key]
    lab.reset()
    first, second = lab.nodes[0], lab.nodes[1]
    worst = 0.0
    for src, dst in ((first, second), (second, first)):
        with lab.probe() as probe:
            lab.exec(src, frontend_standby(lab.frontend, src, True)).check_returncode()
            lab.wait_settled(service_node=dst, nodes=[n for n in lab.nodes if n != src])
            time.sleep(0.5)
            figures = probe.stop()
        lab.exec(src, frontend_standby(lab.frontend, src, False)).check_returncode()
        lab.wait_settled(service_node=dst)
        worst = max(worst, figures["longest_outage"])
    _REFERENCE[key] = worst
    print(f"\n[e2e] reference single standby move outage ({key}): {worst:.2f} s")
    return worst


def frontend_standby(frontend: str, node: str, on: bool) -> list[str]:
    """The seed's standby/online command of a front end (pcs 0.10+ syntax)."""
    if frontend == "pcs":
        return ["pcs", "node", "standby" if on else "unstandby", node]
    return ["crm", "node", "standby" if on else "online", node]


def newest_versions(lab: Any, packages: list[str]) -> dict[str, str]:
    """The lab repository's newest version-release of each package."""
    repo = json.loads((lab.state_dir / "repo.json").read_text())
    return {p: f"{repo[p][-1]['version']}-{repo[p][-1]['release']}" for p in packages}


def assert_packages_updated(lab: Any, packages: list[str], before: dict[str, dict[str, str]]
                            ) -> None:
    """Every node's package DB holds the newest version of every package (and they were
    older before the run)."""
    newest = newest_versions(lab, packages)
    for node in lab.nodes:
        db = lab.package_db(node)
        for pkg in packages:
            assert before[node][pkg] != newest[pkg], f"{pkg} was already new on {node}"
            assert db[pkg] == newest[pkg], f"{node}: {pkg} is {db[pkg]}, want {newest[pkg]}"


def changing_transactions(lab: Any, node: str, package: str) -> list[dict[str, Any]]:
    """The node's package transactions that changed `package`."""
    return [t for t in lab.package_log(node) if t["ok"] and package in t["changed"]]


@dataclass
class EndState:
    """crm_mon at the end, in the terms a user checks."""

    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def end_state(lab: Any, primary: str | None = None) -> EndState:
    """All nodes online (none in standby or maintenance), maintenance-mode off, no failed
    actions, the service group running on one node (on `primary` when given), ping
    everywhere, nothing unmanaged."""
    summary = lab.summary()
    problems = []
    nodes = sorted(lab.nodes)
    attrs = summary["nodes"]
    for n in nodes:
        a = attrs.get(n, {})
        for key, want in (("online", "true"), ("standby", "false"), ("maintenance", "false")):
            if a.get(key) != want:
                problems.append(f"{n} {key}={a.get(key)}")
    if summary["maintenance_mode"]:
        problems.append("maintenance-mode on")
    if summary["failures"]:
        problems.append(f"{summary['failures']} failed actions")
    res = summary["resources"]
    vip, web = res.get("vip", []), res.get("web", [])
    if len(web) != 1 or vip != web:
        problems.append(f"service group not running together: vip={vip} web={web}")
    if primary is not None and web != [primary]:
        problems.append(f"service on {web}, want the original primary {primary}")
    if sorted(res.get("ping", [])) != nodes:
        problems.append(f"ping on {res.get('ping')}")
    xml = lab.crm_mon_xml(lab.nodes[0])
    if 'managed="false"' in xml:
        problems.append("a resource is still unmanaged")
    return EndState(summary, problems)


def root_run_id(state_dir: Path) -> str | None:
    """The newest top-level run in a run store (read-only)."""
    db = state_dir / "runs.sqlite"
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("SELECT id FROM runs WHERE parent_id IS NULL "
                          "ORDER BY created_at DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return row[0] if row else None


def task_rows(state_dir: Path) -> list[dict[str, Any]]:
    """Every task transition of every run in a run store (read-only)."""
    db = state_dir / "runs.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM tasks ORDER BY seq")]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def run_timings(state_dir: Path) -> list[dict[str, Any]]:
    """Per run: workflow, status and the runner's own timing record."""
    con = sqlite3.connect(f"file:{state_dir / 'runs.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT id, parent_id, workflow, status, created_at, ended_at, "
                           "timing FROM runs ORDER BY created_at").fetchall()
    finally:
        con.close()
    return [{"id": r[0], "parent": r[1], "workflow": r[2], "status": r[3], "created": r[4],
             "ended": r[5], "timing": json.loads(r[6]) if r[6] else None} for r in rows]


def action_seconds(state_dir: Path) -> float:
    """Seconds spent inside the python actions of every run in the store (the leaves:
    subworkflow tasks are excluded, their children's actions are counted instead)."""
    children = {r["id"] for r in run_timings(state_dir) if r["parent"]}
    total = 0.0
    for row in task_rows(state_dir):
        if row["child_run"] and row["child_run"] in children:
            continue
        total += row["action_time"] or 0.0
    return total


@pytest.fixture(name="lab")
def two_node_crmsh_lab(lab_factory: Any) -> Any:
    """The ``lab`` fixture of the fault tests: 2 nodes, crmsh, reset to its start state."""
    handle = lab_factory(2, "crmsh", False)
    handle.reset()
    return handle
