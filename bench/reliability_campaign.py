"""Crash-anywhere campaign on the real lab: SIGKILL the runner at every step boundary and in
the middle of each long step, then `pacemaker-update resume RUN` must finish the update and
leave the cluster healthy.

    sudo PMU_LAB_INSTANCE=N .venv/bin/python bench/reliability_campaign.py
        [--methods rolling_standby,cluster_maintenance,...] [--stride 1] [--max-points 0]
        [--budget-minutes 0] [--out results.jsonl] [--keep]

Injection points come from one uninterrupted reference run per method (same lab, same
parameters): every action task of the run tree (python actions and the subworkflow tasks,
in the order they ran, numbered per task name) gives a *boundary* point - the runner is
killed as soon as the run store records that task as started (the action may be running or
may just have returned: both are boundaries of the conductor's state and the kill records
which one it hit) - and every action that took >= --mid-threshold seconds in the reference
run gives a *mid* point: killed half its reference duration after it started.

Per point: `lab reset`, `pacemaker-update run update_cluster` in its own process group (as
a user runs it, watcher on), wait for the point in the run store, SIGKILL the group, record
what crm_mon shows at that moment (nodes in standby/maintenance, maintenance-mode), then
`pacemaker-update resume RUN` in a new process. Survived = resume exits 0 with report status
succeeded, crm_mon healthy (e2e_support.end_state: all online, nothing in standby or
maintenance, maintenance-mode off, no failures, service group together, nothing unmanaged),
every node's packages at the newest version, and no package changed twice on a node. A
point the run passed before the kill landed (the run ended first) is recorded as missed, not
as tried.

Writes the <!-- rel:crash --> section of docs/RELIABILITY.md (and one JSON line per trial to
--out) and tears the lab down at the end (unless --keep). The test suite uses the same
machinery for a few representative points (tests/reliability/test_crash_anywhere.py).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "lab", ROOT / "actions" / "lib", ROOT / "tests" / "lab"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from e2e_support import (  # noqa: E402
    CLI,
    METHOD_PACKAGES,
    cli_argv,
    end_state,
    newest_versions,
    root_run_id,
    run_cli,
)

DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- rel:crash -->", "<!-- /rel:crash -->"
METHODS = ("full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update")
WORKFLOWS = {p.stem for p in (ROOT / "actions" / "workflows").glob("*.yaml")}
METHOD_NO = {"full_stop": 1, "cluster_maintenance": 2, "node_maintenance": 3,
             "rolling_standby": 4, "stack_update": 5}


@dataclass(frozen=True)
class Point:
    """Where to kill: the `occurrence`-th start of task `task` (in workflow `workflow`),
    plus `delay` seconds (0 = a boundary, > 0 = the middle of a long step)."""

    workflow: str
    task: str
    occurrence: int
    delay: float = 0.0
    node: str | None = None

    @property
    def label(self) -> str:
        """Short human name of the point."""
        where = f" ({self.node})" if self.node else ""
        kind = f"mid +{self.delay:.1f}s" if self.delay else "start"
        return f"{self.task}#{self.occurrence}{where} {kind}"


@dataclass
class Trial:
    """What one injection did."""

    method: str
    point: str
    outcome: str  # survived | FAILED | missed
    task_status_at_kill: str | None = None
    at_kill: dict[str, Any] = field(default_factory=dict)
    resume_rc: int | None = None
    report_status: str | None = None
    problems: list[str] = field(default_factory=list)


# -- run store (read-only) ------------------------------------------------------------
def task_tree(state_dir: Path) -> list[dict[str, Any]]:
    """Every task row of the store with its run's workflow (short name), in start order."""
    db = state_dir / "runs.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute(
            "SELECT t.seq, t.task_id, t.action, t.status, t.duration, t.input, "
            "r.workflow FROM tasks t JOIN runs r ON r.id = t.run_id ORDER BY t.seq").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
    out = []
    for r in rows:
        row = dict(r)
        row["workflow"] = str(row["workflow"]).split(".")[-1]
        out.append(row)
    return out


def occurrence_of(rows: list[dict[str, Any]], workflow: str, task: str, k: int
                  ) -> dict[str, Any] | None:
    """The k-th (1-based) row of `task` in `workflow`, if it started yet."""
    seen = [r for r in rows if r["workflow"] == workflow and r["task_id"] == task]
    return seen[k - 1] if len(seen) >= k else None


def node_of(row: dict[str, Any]) -> str | None:
    """The node an action task acted on, from its rendered input (if it names one)."""
    try:
        data = json.loads(row.get("input") or "null")
    except ValueError:
        return None
    if isinstance(data, dict):
        for key in ("node", "away_from"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return None


def points_from_reference(rows: list[dict[str, Any]], mid_threshold: float) -> list[Point]:
    """Boundary points of every action task and mid points of the long ones, in run order."""
    points: list[Point] = []
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row["action"]:
            continue
        key = (row["workflow"], row["task_id"])
        counts[key] = counts.get(key, 0) + 1
        node = node_of(row)
        points.append(Point(row["workflow"], row["task_id"], counts[key], 0.0, node))
        duration = float(row["duration"] or 0.0)
        child = str(row["action"]).split(".")[-1] in WORKFLOWS
        if duration >= mid_threshold and not child:
            points.append(Point(row["workflow"], row["task_id"], counts[key],
                                round(duration / 2, 2), node))
    return points


# -- driving the CLI -----------------------------------------------------------------
def start_update(lab: Any, state_dir: Path, method: str, **params: Any) -> subprocess.Popen[str]:
    """`pacemaker-update run update_cluster` in its own process group; progress to a file."""
    argv = cli_argv(lab, state_dir, method, METHOD_PACKAGES[method], **params)
    log = open(state_dir / "run.stderr", "w")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(argv, stdout=open(state_dir / "run.stdout", "w"),  # noqa: SIM115
                            stderr=log, text=True, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def kill_runner(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the runner's whole process group (a power cut of the operator's shell)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_point(state_dir: Path, proc: subprocess.Popen[str], point: Point,
               timeout: float = 400) -> dict[str, Any] | None:
    """Until the point's task started (then its delay); None if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = occurrence_of(task_tree(state_dir), point.workflow, point.task, point.occurrence)
        if row is not None:
            if point.delay:
                time.sleep(point.delay)
            return row
        if proc.poll() is not None:
            return None
        time.sleep(0.02)
    raise TimeoutError(f"{point.label} not reached within {timeout} s")


def cluster_digest(lab: Any) -> dict[str, Any]:
    """What crm_mon shows now: out-of-service nodes, maintenance-mode, where web runs."""
    try:
        s = lab.summary()
    except Exception as exc:  # noqa: BLE001 - a node being stopped: say so
        return {"error": str(exc)[:200]}
    return {"standby": sorted(n for n, a in s["nodes"].items() if a.get("standby") == "true"),
            "maintenance": sorted(n for n, a in s["nodes"].items()
                                  if a.get("maintenance") == "true"),
            "offline": sorted(n for n, a in s["nodes"].items() if a.get("online") != "true"),
            "maintenance_mode": s["maintenance_mode"],
            "web": s["resources"].get("web", [])}


def resume_run(lab: Any, state_dir: Path, run_id: str) -> Any:
    """`pacemaker-update resume RUN --json` in a new process (CliRun)."""
    extra = os.environ.get("PMU_E2E_RUN_ARGS", "").split()  # --no-watch: same as the run
    return run_cli([str(CLI), "resume", run_id, "--config", str(lab.config_path),
                    "--state-dir", str(state_dir), "--yes", "--json", *extra])


def healthy_problems(lab: Any, method: str, before: dict[str, dict[str, str]]) -> list[str]:
    """Everything wrong with the cluster after a resumed update (empty = healthy, updated)."""
    problems = list(end_state(lab).problems)
    packages = METHOD_PACKAGES[method]
    newest = newest_versions(lab, packages)
    for node in lab.nodes:
        db = lab.package_db(node)
        for pkg in packages:
            if db.get(pkg) != newest[pkg]:
                problems.append(f"{node}: {pkg} {db.get(pkg)} (want {newest[pkg]}, "
                                f"was {before[node].get(pkg)})")
            changes = [t for t in lab.package_log(node) if t["ok"] and pkg in t["changed"]]
            if len(changes) > 1:
                problems.append(f"{node}: {pkg} changed {len(changes)} times")
    return problems


def run_trial(lab: Any, method: str, point: Point, params: dict[str, Any]) -> Trial:
    """Reset, run, kill at the point, resume, judge."""
    lab.reset()
    before = {n: lab.package_db(n) for n in lab.nodes}
    with tempfile.TemporaryDirectory(prefix="pmu-crash-") as tmp:
        state_dir = Path(tmp)
        proc = start_update(lab, state_dir, method, **params)
        try:
            row = wait_point(state_dir, proc, point)
        except BaseException:
            kill_runner(proc)
            raise
        if row is None or proc.poll() is not None:
            return Trial(method, point.label, "missed")
        kill_runner(proc)
        status = occurrence_of(task_tree(state_dir), point.workflow, point.task,
                               point.occurrence)
        trial = Trial(method, point.label, "FAILED",
                      task_status_at_kill=(status or {}).get("status"),
                      at_kill=cluster_digest(lab))
        run_id = root_run_id(state_dir)
        if not run_id:
            trial.problems.append("the killed run left no record")
            return trial
        resumed = resume_run(lab, state_dir, run_id)
        trial.resume_rc = resumed.rc
        trial.report_status = resumed.report.get("status") if resumed.doc else None
        if resumed.rc != 0 or trial.report_status != "succeeded":
            trial.problems.append("resume: " + resumed.explain()[:1500])
        trial.problems += healthy_problems(lab, method, before)
        trial.outcome = "survived" if not trial.problems else "FAILED"
        return trial


def reference_points(lab: Any, method: str, params: dict[str, Any], mid: float) -> list[Point]:
    """One uninterrupted run of the method; its injection points."""
    lab.reset()
    with tempfile.TemporaryDirectory(prefix="pmu-crash-ref-") as tmp:
        state_dir = Path(tmp)
        run = run_cli(cli_argv(lab, state_dir, method, METHOD_PACKAGES[method], **params))
        if run.rc != 0:
            why = [ln.strip() for ln in run.stderr.splitlines()
                   if "UNEXPECTED" in ln or "pause requested" in ln and "watch:" in ln]
            status = (run.doc or {}).get("status")
            raise RuntimeError(f"reference run of {method} ended {status} (rc {run.rc}): "
                               + ("; ".join(why[:3]) if why else run.explain()))
        return points_from_reference(task_tree(state_dir), mid)


# -- the document --------------------------------------------------------------------
def write_section(trials: list[Trial], planned: dict[str, int], args: argparse.Namespace,
                  broken: dict[str, str]) -> None:
    """Create or replace only the rel:crash section of docs/RELIABILITY.md."""
    off = set(no_watch_methods(args))
    lines = [START, "## Crash anywhere (bench/reliability_campaign.py)", "",
             "The runner (`pacemaker-update run update_cluster`, its failover watcher on "
             "unless the row says otherwise, 2 nodes, crmsh, "
             "failback none) is SIGKILLed with its process group at an injection point; "
             "`pacemaker-update resume RUN` in a new process must finish: rc 0, report "
             "succeeded, crm_mon healthy (all online, no standby/maintenance, "
             "maintenance-mode off, no failures, service group together), every package at "
             "the newest version on every node and changed once. Points: the start of every "
             "action task of the reference run (*boundary*) and half-way through every "
             f"action that took >= {args.mid_threshold:g} s (*mid*). Command: "
             f"`{' '.join(['bench/reliability_campaign.py'] + sys.argv[1:])}`.", "",
             "| method | points in reference run | tried | survived | failed | missed "
             "(run passed the point first) | out of service at kill (standby / maintenance "
             "/ maintenance-mode) |",
             "|---|---|---|---|---|---|---|"]
    for method in METHODS:
        mine = [t for t in trials if t.method == method]
        if method not in planned:
            continue
        tried = [t for t in mine if t.outcome != "missed"]
        ok = [t for t in tried if t.outcome == "survived"]
        standby = sum(1 for t in tried if t.at_kill.get("standby"))
        maint = sum(1 for t in tried if t.at_kill.get("maintenance"))
        mmode = sum(1 for t in tried if t.at_kill.get("maintenance_mode"))
        label = f"{method} (watcher off)" if method in off else method
        lines.append(f"| {METHOD_NO[method]} {label} | {planned[method]} | {len(tried)} | "
                     f"{len(ok)} | {len(tried) - len(ok)} | {len(mine) - len(tried)} | "
                     f"{standby} / {maint} / {mmode} |")
    for method, why in broken.items():
        if method in off:
            why = "(watcher off) " + why
        lines.append(f"| {METHOD_NO[method]} {method} | - | 0 | 0 | 0 | 0 | nothing injected: "
                     f"{why.replace('|', '/')[:300]} |")
    failed = [t for t in trials if t.outcome == "FAILED"]
    lines += ["", f"Failures ({len(failed)}):" if failed else "No failures."]
    for t in failed:
        text = "; ".join(t.problems)[:600].replace("\n", " ").replace("|", "/")
        lines.append(f"- {t.method} at `{t.point}` (task {t.task_status_at_kill} at kill, "
                     f"cluster {json.dumps(t.at_kill)}): {text}")
    skipped = {m: planned[m] - len([t for t in trials if t.method == m]) for m in planned}
    if any(skipped.values()):
        lines += ["", "Not run in this campaign (stride/limit/budget): " + ", ".join(
            f"{m} {n}" for m, n in skipped.items() if n) + " points."]
    text = DOC.read_text() if DOC.exists() else "# Reliability\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    lines += earlier_rows(pattern.search(text), set(planned) | set(broken))
    lines.append(END)
    section = "\n".join(lines)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    DOC.write_text(text)


def earlier_rows(found: Any, ours: set[str]) -> list[str]:
    """Rows (and failures) of methods this invocation did not touch, from the section as
    it was, each under the command that produced it: several invocations add up."""
    if found is None:
        return []
    blocks: list[tuple[str, list[str]]] = []
    for ln in found.group(0).splitlines():
        origin = re.search(r"(?:Command: |Earlier invocation \()`([^`]*)`", ln)
        if origin:
            blocks.append((origin.group(1), []))
        elif (blocks and (re.match(r"\| \d ", ln) or ln.startswith("- "))
              and not any(f" {m} " in ln or f" {m} (" in ln or ln.startswith(f"- {m} ")
                          for m in ours)):
            blocks[-1][1].append(ln)
    out: list[str] = []
    for origin, rows in blocks:
        if rows:
            out += ["", f"Earlier invocation (`{origin}`):", ""] + rows
    return out


def no_watch_methods(args: argparse.Namespace) -> list[str]:
    """Methods run and resumed without the failover watcher."""
    if args.no_watch:
        return list(METHODS)
    return [m for m in args.no_watch_methods.split(",") if m]


def main() -> int:
    """Run the campaign; write the doc section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--stride", type=int, default=1, help="every Nth point only")
    parser.add_argument("--max-points", type=int, default=0, help="per method, 0 = all")
    parser.add_argument("--budget-minutes", type=float, default=0, help="0 = no budget")
    parser.add_argument("--mid-threshold", type=float, default=1.0)
    parser.add_argument("--out", default="")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--no-watch", action="store_true",
                        help="run and resume without the failover watcher")
    parser.add_argument("--no-watch-methods", default="",
                        help="these methods only without the watcher (comma-separated)")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}")
    from pmlab import testing
    lab = testing.bring_up(2, "crmsh", False)
    params = {"failback": "none"}
    trials: list[Trial] = []
    planned: dict[str, int] = {}
    broken: dict[str, str] = {}
    deadline = time.monotonic() + args.budget_minutes * 60 if args.budget_minutes else None
    try:
        for method in methods:
            if deadline and time.monotonic() > deadline:
                broken[method] = "not run: --budget-minutes used up"
                continue
            quiet = method in no_watch_methods(args)
            os.environ["PMU_E2E_RUN_ARGS"] = "--no-watch" if quiet else ""
            try:
                points = reference_points(lab, method, params, args.mid_threshold)
            except RuntimeError as exc:  # nothing to inject into: say so in the doc
                print(f"[crash] {method}: {exc}", flush=True)
                broken[method] = str(exc).replace("\n", " ")[:400]
                write_section(trials, planned, args, broken)
                continue
            planned[method] = len(points)
            chosen = points[::max(args.stride, 1)]
            if args.max_points:
                chosen = chosen[:args.max_points]
            print(f"[crash] {method}: {len(points)} points, trying {len(chosen)}", flush=True)
            for point in chosen:
                if deadline and time.monotonic() > deadline:
                    break
                trial = run_trial(lab, method, point, params)
                trials.append(trial)
                print(f"[crash] {method} {point.label}: {trial.outcome} "
                      f"(task {trial.task_status_at_kill}, at kill {trial.at_kill}) "
                      f"{'; '.join(trial.problems)[:300]}", flush=True)
                if args.out:
                    with open(args.out, "a") as handle:
                        handle.write(json.dumps(asdict(trial)) + "\n")
            write_section(trials, planned, args, broken)
    finally:
        if not args.keep:
            lab.down()
    failed = [t for t in trials if t.outcome == "FAILED"]
    print(f"[crash] tried {len([t for t in trials if t.outcome != 'missed'])}, "
          f"failed {len(failed)}")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
