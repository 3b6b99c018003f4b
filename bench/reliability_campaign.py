"""Crash-anywhere campaign on the real lab: SIGKILL the runner at every step boundary and in
the middle of each long step, then `pacemaker-update resume RUN` must finish the update and
leave the cluster healthy.

    sudo PMU_LAB_INSTANCE=N .venv/bin/python bench/reliability_campaign.py
        [--methods rolling_standby,cluster_maintenance,...] [--stride 1] [--offset 0]
        [--max-points 0] [--budget-minutes 0] [--out results.jsonl] [--keep]
        [--retry-no-watch] [--untried]

Injection points come from one uninterrupted reference run per method (same lab, same
parameters): every action task of the run tree (python actions and the subworkflow tasks,
in the order they ran, numbered per task name) gives a *boundary* point - the runner is
killed as soon as the run store records that task as started (the action may be running or
may just have returned: both are boundaries of the conductor's state and the kill records
which one it hit) - and every action that took >= --mid-threshold seconds in the reference
run gives a *mid* point: killed half its reference duration after it started.

Order: first the reference run of every method, then the chosen points of all methods
round-robin (one point of each method in turn), so a --budget-minutes that runs out leaves
every method sampled about evenly. Chosen = every --stride-th point of a method's list,
starting at --offset (a later campaign with another offset samples other points). With
--untried: every point of this invocation's reference runs that no trial of --out tried yet
(survived or FAILED; a mid point matches whatever half-duration its reference run measured,
a boundary point by its label) - the reference runs differ between invocations (timing, code
changes), so offsets of one stride do not tile the latest runs' points; this closes the gap.

Per point: `lab reset` (the same lab is reused between points), `pacemaker-update run
update_cluster` in its own process group (as a user runs it, watcher on), wait for the
point in the run store, SIGKILL the group, record what crm_mon shows at that moment (nodes
in standby/maintenance, maintenance-mode), then `pacemaker-update resume RUN` in a new
process. Survived = resume exits 0 with report status
succeeded, crm_mon healthy (e2e_support.end_state: all online, nothing in standby or
maintenance, maintenance-mode off, no failures, service group together, nothing unmanaged),
every node's packages at the newest version, and no package changed twice on a node. A
point the run passed before the kill landed (the run ended first, rc 0) is recorded as
missed, not as tried (so is a kill that lands after the run's record already says
succeeded: only the process's exit was left); a run that failed on its own before its point
as ended-early, with its output.

Writes the <!-- rel:crash --> section of docs/RELIABILITY.md after every trial (bench/crash_doc.py;
with --accumulate from every trial of --out, earlier invocations included), one JSON line per
trial to --out (with its run id), keeps the run store and both processes' output of a failed
trial under $PMU_CRASH_ARTIFACTS (/var/tmp/pmu-crash-artifacts), and tears the lab down at
the end (unless --keep). The test suite uses the same
machinery for a few representative points (tests/reliability/test_crash_anywhere.py).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
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
for extra in (ROOT / "lab", ROOT / "actions" / "lib", ROOT / "tests" / "lab", ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from crash_doc import (  # noqa: E402
    METHODS,
    Sampling,
    load_trials,
    point_id,
    tried_ids,
    write_section,
)
from e2e_support import (  # noqa: E402
    CLI,
    METHOD_PACKAGES,
    cli_argv,
    end_state,
    newest_versions,
    root_run_id,
    run_cli,
)

WORKFLOWS = {p.stem for p in (ROOT / "actions" / "workflows").glob("*.yaml")}


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
    outcome: str  # survived | FAILED | missed | ended-early
    task_status_at_kill: str | None = None
    at_kill: dict[str, Any] = field(default_factory=dict)
    resume_rc: int | None = None
    report_status: str | None = None
    problems: list[str] = field(default_factory=list)
    run_id: str | None = None
    after: dict[str, Any] = field(default_factory=dict)  # crm_mon after the resume
    watcher: bool = True
    at: str = ""
    invocation: str = ""
    commit: str = ""
    artifacts: str = ""


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


def run_status(state_dir: Path, run_id: str) -> str | None:
    """A run's status in the store (read-only), None when unreadable."""
    con = sqlite3.connect(f"file:{state_dir / 'runs.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return str(row[0]) if row else None


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
        stopped = []
        for node in lab.nodes:
            with contextlib.suppress(Exception):
                if lab.exec(node, ["systemctl", "is-active", "pacemaker"],
                            timeout=20).returncode != 0:
                    stopped.append(node)
        return {"error": (str(exc) or type(exc).__name__)[:200],
                "pacemaker_stopped": stopped}
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
    try:
        problems = list(end_state(lab).problems)
    except Exception as exc:  # noqa: BLE001 - crm_mon unreadable: the cluster is not healthy
        digest = cluster_digest(lab)
        problems = [f"crm_mon unreadable after the resume ({type(exc).__name__}: "
                    f"{str(exc)[-300:]}); pacemaker stopped on "
                    f"{digest.get('pacemaker_stopped')}"]
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
            return ended_first(state_dir, proc, method, point)
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
        if run_status(state_dir, run_id) == "succeeded":
            # The kill landed after the run had ended (its record says succeeded; only the
            # process's exit was left): the run passed the point, as when it exits first.
            # Seen at render_report#1 start, the last task (about 1 ms since d1f21cc).
            # `resume` says RUN_FINISHED (exit 2), which is right; the cluster must still
            # be healthy, else it is a failure.
            trial.problems += healthy_problems(lab, method, before)
            trial.outcome = "missed" if not trial.problems else "FAILED"
            trial.run_id = run_id
            return trial
        resumed = resume_run(lab, state_dir, run_id)
        trial.resume_rc = resumed.rc
        trial.report_status = resumed.report.get("status") if resumed.doc else None
        if resumed.rc != 0 or trial.report_status != "succeeded":
            trial.problems.append("resume " + cli_summary(resumed))
        trial.problems += healthy_problems(lab, method, before)
        trial.outcome = "survived" if not trial.problems else "FAILED"
        trial.run_id = run_id
        if trial.problems:
            trial.after = cluster_digest(lab)
            trial.artifacts = keep_artifacts(state_dir, resumed, method, run_id)
            keep_lab_logs(lab, trial.artifacts)
        return trial


ARTIFACTS = Path(os.environ.get("PMU_CRASH_ARTIFACTS", "/var/tmp/pmu-crash-artifacts"))


def ended_first(state_dir: Path, proc: subprocess.Popen[str], method: str, point: Point
                ) -> Trial:
    """The run ended before the point: *missed* if it succeeded (the point was not on this
    run's path), *ended-early* with its output if it failed on its own (not hidden as a miss;
    not a crash-survival failure either, as nothing was killed)."""
    rc = proc.wait()
    if rc == 0:
        return Trial(method, point.label, "missed", run_id=root_run_id(state_dir))
    out = (state_dir / "run.stdout").read_text()
    err = (state_dir / "run.stderr").read_text()
    doc: Any = None
    with contextlib.suppress(ValueError):
        doc = json.loads(out) if out.strip() else None
    trial = Trial(method, point.label, "ended-early", run_id=root_run_id(state_dir))
    failure = (((doc or {}).get("output") or {}).get("report") or {}).get("failure")
    trial.problems.append(f"the run ended with rc {rc} before the point: "
                          + (json.dumps(failure)[:600] if failure else err[-600:]))
    return trial


def cli_summary(resumed: Any) -> str:
    """What a CLI run or resume said, short: rc, status, code, step, message (the whole
    output of a failed trial is kept with the artifacts)."""
    doc = resumed.doc or {}
    failure = resumed.report.get("failure") if resumed.doc else None
    cause = doc.get("pause_cause")
    if isinstance(failure, dict):
        said = (f"{failure.get('code')} at step {failure.get('step')} "
                f"({failure.get('node') or 'cluster'}): {failure.get('message')}")
    elif isinstance(cause, dict):
        said = f"paused: {cause.get('kind')} ({cause.get('message')})"
    else:
        said = "stderr tail: " + resumed.stderr[-600:].replace("\n", " / ")
    return f"rc {resumed.rc}, status {doc.get('status')}: {said}"[:1200]


def keep_artifacts(state_dir: Path, resumed: Any, method: str, run_id: str) -> str:
    """Keep what a failed trial leaves (run store, both processes' output) for diagnosis."""
    dest = ARTIFACTS / f"{time.strftime('%Y%m%dT%H%M%S')}-{method}-{run_id[:12]}"
    shutil.copytree(state_dir, dest, ignore=shutil.ignore_patterns("inspected"))
    (dest / "resume.stdout.json").write_text(json.dumps(resumed.doc, indent=1))
    (dest / "resume.stderr").write_text(resumed.stderr)
    return str(dest)


def keep_lab_logs(lab: Any, dest: str) -> None:
    """The end of every node's pacemaker.log and its package transactions (the lab's
    directory is removed with the lab)."""
    for node in lab.nodes:
        base = Path(lab.state_dir) / "nodes" / node
        for src, name in ((base / "fs" / "log-pacemaker" / "pacemaker.log", "pacemaker.log"),
                          (base / "pkg-transactions.jsonl", "pkg-transactions.jsonl")):
            with contextlib.suppress(OSError):
                lines = src.read_text(errors="replace").splitlines()[-6000:]
                (Path(dest) / f"{node}-{name}").write_text("\n".join(lines) + "\n")


def reference_points(lab: Any, method: str, params: dict[str, Any], mid: float) -> list[Point]:
    """One uninterrupted run of the method; its injection points."""
    lab.reset()
    with tempfile.TemporaryDirectory(prefix="pmu-crash-ref-") as tmp:
        state_dir = Path(tmp)
        run = run_cli(cli_argv(lab, state_dir, method, METHOD_PACKAGES[method], **params))
        if run.rc != 0:
            why = [ln.strip() for ln in run.stderr.splitlines()
                   if "UNEXPECTED" in ln or "pause requested" in ln and "watch:" in ln]
            raise RuntimeError(f"uninterrupted run {root_run_id(state_dir)} of {method} "
                               + ("paused: " + "; ".join(why[:3]) if why
                                  else cli_summary(run)))
        return points_from_reference(task_tree(state_dir), mid)


def no_watch_methods(args: argparse.Namespace) -> list[str]:
    """Methods run and resumed without the failover watcher."""
    if args.no_watch:
        return list(METHODS)
    return [m for m in args.no_watch_methods.split(",") if m]


def use_watcher(method: str, quiet: set[str]) -> None:
    """Run and resume `method` with the watcher, or without it (PMU_E2E_RUN_ARGS)."""
    os.environ["PMU_E2E_RUN_ARGS"] = "--no-watch" if method in quiet else ""


def choose(points: list[Point], args: argparse.Namespace,
           tried: set[str] | None = None) -> list[Point]:
    """Every --stride-th point from --offset, at most --max-points of them; with `tried`
    (--untried: the point ids of this method already tried in --out), only the others."""
    stride = max(args.stride, 1)
    chosen = points[args.offset % stride::stride]
    if tried is not None:
        chosen = untried_points(chosen, tried)
    return chosen[:args.max_points] if args.max_points else chosen


def untried_points(points: list[Point], tried: set[str]) -> list[Point]:
    """The points (run order kept) whose id (crash_doc.point_id of the label: a mid point
    without its measured half-duration) is not in `tried`."""
    return [p for p in points if point_id(p.label) not in tried]


def round_robin(queues: dict[str, list[Point]]) -> list[tuple[str, Point]]:
    """One point of each method in turn, until every method's list is used up."""
    order: list[tuple[str, Point]] = []
    for i in range(max((len(q) for q in queues.values()), default=0)):
        order += [(m, q[i]) for m, q in queues.items() if i < len(q)]
    return order


def collect_references(lab: Any, methods: list[str], args: argparse.Namespace,
                       params: dict[str, Any], quiet: set[str], broken: dict[str, str],
                       retried: dict[str, str]) -> dict[str, list[Point]]:
    """The reference run of every method, up to --reference-attempts tries; every failed
    attempt is noted in `retried` (the doc shows it: an uninterrupted run that fails is a
    finding of its own). With --retry-no-watch a watcher pause switches that method to runs
    without the watcher. A method without a successful reference run is `broken`."""
    found: dict[str, list[Point]] = {}
    for method in methods:
        why = ""
        for attempt in range(1, max(args.reference_attempts, 1) + 1):
            use_watcher(method, quiet)
            try:
                found[method] = reference_points(lab, method, params, args.mid_threshold)
                break
            except RuntimeError as exc:
                why = str(exc).replace("\n", " ")[:600]
                print(f"[crash] {method}: reference attempt {attempt}: {why}", flush=True)
                off = " (watcher off)" if method in quiet else ""
                retried[method] = (retried.get(method, "") + f" attempt {attempt}{off}: "
                                   + why).strip()
                if args.retry_no_watch and "paused" in why:
                    quiet.add(method)
        if method not in found:
            broken[method] = why
    return found


def parse_args() -> argparse.Namespace:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--stride", type=int, default=1, help="every Nth point only")
    parser.add_argument("--offset", type=int, default=0, help="first point (mod stride)")
    parser.add_argument("--max-points", type=int, default=0, help="per method, 0 = all")
    parser.add_argument("--budget-minutes", type=float, default=0, help="0 = no budget")
    parser.add_argument("--mid-threshold", type=float, default=1.0)
    parser.add_argument("--out", default="", help="JSON line per trial, appended")
    parser.add_argument("--accumulate", action="store_true",
                        help="the doc counts every trial of --out (earlier invocations too)")
    parser.add_argument("--notes", default="", help="markdown file appended to the section "
                        "(the diagnosis of failures, written by a person)")
    parser.add_argument("--doc", default="", help="the RELIABILITY.md to write (default: "
                        "this tree's; for a run from a snapshot of the code)")
    parser.add_argument("--render-only", action="store_true", help="write the section again "
                        "from --out and its .meta.json (e.g. with new --notes), run nothing")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--no-watch", action="store_true",
                        help="run and resume without the failover watcher")
    parser.add_argument("--no-watch-methods", default="",
                        help="these methods only without the watcher (comma-separated)")
    parser.add_argument("--reference-attempts", type=int, default=1,
                        help="tries of a method's reference run (failures are reported)")
    parser.add_argument("--untried", action="store_true",
                        help="only the points of this invocation's reference runs that no "
                             "trial of --out tried yet (survived or FAILED)")
    parser.add_argument("--retry-no-watch", action="store_true",
                        help="a method whose reference run the watcher paused is tried again "
                             "without the watcher (the pause is reported)")
    args = parser.parse_args()
    unknown = {m for m in args.methods.split(",") if m} - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}")
    if args.accumulate and not args.out:
        parser.error("--accumulate needs --out")
    if args.untried and not args.out:
        parser.error("--untried needs --out")
    return args


def git_head() -> str:
    """The commit the campaign ran at (short), '+' when the tree had local changes."""
    if os.environ.get("PMU_CODE_COMMIT"):  # a snapshot (git archive) of that commit
        return os.environ["PMU_CODE_COMMIT"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "bench",
                            "actions"], capture_output=True, text=True).stdout.strip()
    return head + ("+" if dirty else "")


def main() -> int:
    """Run the campaign; write the doc section after every trial."""
    args = parse_args()
    methods = [m for m in args.methods.split(",") if m]
    from pmlab import testing
    started = time.monotonic()
    deadline = started + args.budget_minutes * 60 if args.budget_minutes else None
    command = " ".join(["bench/reliability_campaign.py"] + sys.argv[1:])
    sampling = Sampling(command, max(args.stride, 1), args.offset, args.max_points,
                        args.budget_minutes, args.mid_threshold, untried=args.untried)
    notes = Path(args.notes).read_text().splitlines() if args.notes else None
    commit = git_head()
    params = {"failback": "none"}
    quiet = set(no_watch_methods(args))
    trials: list[Trial] = []
    broken: dict[str, str] = {}

    def document() -> None:
        sampling.minutes = (time.monotonic() - started) / 60
        sampling.load_at_end = os.getloadavg()
        rows = (load_trials(Path(args.out)) if args.accumulate
                else [asdict(t) for t in trials])
        write_section(rows, planned, sampling, broken, notes,
                      Path(args.doc) if args.doc else None, labels)
        if args.out:  # what --render-only needs to write the section again
            Path(args.out + ".meta.json").write_text(json.dumps(
                {"planned": planned, "broken": broken, "sampling": asdict(sampling),
                 "points": labels}))

    if args.render_only:
        meta = json.loads(Path(args.out + ".meta.json").read_text())
        saved = Sampling(**meta["sampling"])
        write_section(load_trials(Path(args.out)) if args.accumulate else [],
                      meta["planned"], saved, meta["broken"], notes,
                      Path(args.doc) if args.doc else None, meta.get("points"))
        return 0

    planned: dict[str, int] = {}
    labels: dict[str, list[str]] = {}  # the reference runs' points (coverage in the doc)
    lab = testing.bring_up(2, "crmsh", False)
    try:
        found = collect_references(lab, methods, args, params, quiet, broken,
                                   sampling.retried)
        planned.update({m: len(p) for m, p in found.items()})
        labels.update({m: [point.label for point in p] for m, p in found.items()})
        before = (load_trials(Path(args.out)) if args.untried and Path(args.out).exists()
                  else [])
        chosen = {m: choose(p, args, tried_ids(before, m) if args.untried else None)
                  for m, p in found.items()}
        sampling.chosen = {m: len(p) for m, p in chosen.items()}
        order = round_robin(chosen)
        print(f"[crash] points {planned}, trying {len(order)}", flush=True)
        document()
        durations: list[float] = []
        for method, point in order:
            typical = sorted(durations)[len(durations) // 2] if durations else 0.0
            if deadline and time.monotonic() + typical > deadline:
                break
            use_watcher(method, quiet)
            began = time.monotonic()
            print(f"[crash] {time.strftime('%H:%M:%S')} {method} {point.label} ...", flush=True)
            try:
                trial = run_trial(lab, method, point, params)
            except Exception as exc:  # noqa: BLE001 - a check that raised is a failed trial
                trial = Trial(method, point.label, "FAILED",
                              problems=[f"the trial's checks raised {exc!r}"[:800]])
            durations.append(time.monotonic() - began)
            trial.watcher, trial.invocation, trial.commit = method not in quiet, command, commit
            trial.at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            trials.append(trial)
            print(f"[crash] {method} {point.label}: {trial.outcome} run {trial.run_id} "
                  f"(task {trial.task_status_at_kill}, at kill {trial.at_kill}, "
                  f"{durations[-1]:.0f} s) {'; '.join(trial.problems)[:300]}", flush=True)
            if args.out:
                with open(args.out, "a") as handle:
                    handle.write(json.dumps(asdict(trial)) + "\n")
            document()
    finally:
        if not args.keep:
            lab.down()
    failed = [t for t in trials if t.outcome == "FAILED"]
    print(f"[crash] tried {len([t for t in trials if t.outcome != 'missed'])}, "
          f"failed {len(failed)}")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
