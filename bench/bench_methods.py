"""Benchmarks 1 and 2 of issue 8: service interruption and wall time per update method, the
pack (its CLI) against the "manual" baseline (bench/manual_baseline.py: the seed's commands
typed over SSH with the shortest safe waits), measured side by side in one run on the lab.

For every nodes x front end x method: reset the lab, run the manual procedure with the VIP
probe running (0.05 s interval), reset, run `pacemaker-update run update_cluster` with the
probe running. Recorded per side: the probe's total failed time and longest outage, wall
time; for the pack also the time inside its actions (run store: the leaf tasks'
action_time), explicit delays (the store's delay column) and the runner overhead = CLI wall
- time inside actions - delays. The pack's required waits (crm_mon verification, settling)
happen inside its actions, so they are part of "time inside actions".

Results accumulate in <out>/results.json (keyed by nodes/front end/method, newest wins) and
the whole table is written into the <!-- bench:methods --> section of docs/BENCHMARKS.md.

Usage (root; give the lab instance, the lab is brought up and always torn down):
  PMU_LAB_INSTANCE=3 .venv/bin/python bench/bench_methods.py \
      [--methods rolling_standby,...] [--frontends crmsh,pcs] [--nodes 2,3] [--no-write]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "bench"))

from manual_baseline import METHODS, run_manual  # noqa: E402
from pmlab.consts import INSTANCE  # noqa: E402
from pmlab.testing import LabCluster, bring_up  # noqa: E402

DOC = ROOT / "docs" / "BENCHMARKS.md"
CLI = ROOT / ".venv" / "bin" / "pacemaker-update"
STACK = ["pacemaker", "pacemaker-cli", "pacemaker-libs", "corosync", "corosynclib"]
# Same packages on both sides: the service's where the stack keeps running, the stack
# where it is stopped (method 1 stops everything, so it takes both).
METHOD_PACKAGES = {
    "full_stop": STACK + ["httpd"],
    "cluster_maintenance": ["httpd"],
    "node_maintenance": ["httpd"],
    "rolling_standby": ["httpd"],
    "stack_update": STACK,
}
ZERO_GOAL = ("cluster_maintenance", "node_maintenance")
MARGIN = 1.0   # seconds of probing before and after each procedure


def load() -> float:
    """1-minute load average (the machine is shared with other labs)."""
    return round(os.getloadavg()[0], 2)


def other_labs() -> list[int]:
    """Instances of other people's labs that are up beside this one (their state files)."""
    found = []
    for path in Path("/var/lib").glob("pmu-lab*/state.json"):
        suffix = path.parent.name[len("pmu-lab"):]
        instance = int(suffix) if suffix.isdigit() else 0
        with contextlib.suppress(OSError, ValueError):
            if instance != INSTANCE and json.loads(path.read_text()).get("status") == "up":
                found.append(instance)
    return sorted(found)


def probed(lab: LabCluster, fn: Any, probe_out: Path) -> tuple[Any, dict[str, Any]]:
    """Run fn() with the VIP probe running from MARGIN s before to MARGIN s after; the
    summary counts the requests from fn's start to MARGIN after its end (a request that
    failed before anything was typed is the lab's, not the procedure's)."""
    probe_out.unlink(missing_ok=True)
    probe = lab.probe(interval=0.05, timeout=0.5, out=probe_out).start()
    try:
        time.sleep(MARGIN)
        start = time.time()
        result = fn()
        end = time.time()
        time.sleep(MARGIN)
    finally:
        probe.stop()
    return result, window_summary(probe_out, start, end)


def window_summary(path: Path, start: float, end: float) -> dict[str, Any]:
    """Probe summary of the requests sent in [start, end + MARGIN]."""
    from pmlab.probe import summarize
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return summarize([r for r in records if start <= r["ts"] <= end + MARGIN])


def store_rows(state_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(runs, tasks) of a run store, read-only."""
    db = state_dir / "runs.sqlite"
    if not db.exists():
        return [], []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    con.row_factory = sqlite3.Row
    try:
        runs = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY created_at")]
        tasks = [dict(r) for r in con.execute("SELECT * FROM tasks ORDER BY seq")]
    finally:
        con.close()
    return runs, tasks


def leaf_tasks(runs: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks that ran a python action (not a subworkflow, whose children are counted)."""
    workflows = {r["workflow"] for r in runs}
    return [t for t in tasks if t["action"] and t["action"] not in workflows]


def pack_timing(state_dir: Path, proc_start: float, proc_end: float) -> dict[str, Any]:
    """Time inside actions, delays, overhead and where it went, from the run store."""
    runs, tasks = store_rows(state_dir)
    leaves = leaf_tasks(runs, tasks)
    inside = sum(t["action_time"] or 0.0 for t in leaves)
    delays = sum(t["delay"] or 0.0 for t in tasks)
    total = proc_end - proc_start
    top = next((r for r in runs if not r["parent_id"]), None)
    before_run = (top["created_at"] - proc_start) if top else None
    after_run = (proc_end - top["ended_at"]) if top and top["ended_at"] else None
    overhead = total - inside - delays
    # The runner's own time within the run (top-level run created -> ended), without the
    # interpreter's start and imports before it (before_first_task, shown on its own).
    span = (top["ended_at"] - top["created_at"]) if top and top["ended_at"] else None
    run_overhead = span - inside - delays if span else None
    return {"total": total, "inside_actions": inside, "delays": delays,
            "overhead": overhead, "overhead_pct": 100.0 * overhead / total if total else None,
            "run_span": span, "run_overhead": run_overhead,
            "run_overhead_pct": 100.0 * run_overhead / span if span and run_overhead is not None
            else None,
            "before_first_task": before_run, "after_run_end": after_run,
            "engine_between_tasks": (overhead - (before_run or 0) - (after_run or 0)),
            "actions": len(leaves)}


def error_codes(doc: Any) -> list[str]:
    """Every `code` in the run document's errors and report failure."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            if isinstance(obj.get("code"), str) and obj["code"] not in found:
                found.append(obj["code"])
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)
    if isinstance(doc, dict):
        cause = doc.get("pause_cause")
        if isinstance(cause, dict):
            found.append(f"paused: {cause.get('kind')} ({cause.get('message')})")
        walk(doc.get("errors"))
        walk(((doc.get("output") or {}).get("report") or {}).get("failure"))
    return found


def run_pack(lab: LabCluster, method: str, state_dir: Path,
             extra: list[str] | None = None) -> dict[str, Any]:
    """`pacemaker-update run update_cluster` for the lab, to its end."""
    argv = [str(CLI), "run", "update_cluster", "--config", str(lab.config_path),
            "--cluster", "lab", "--state-dir", str(state_dir), "--yes", "--json",
            "--param", f"method={method}",
            "--param", "packages=" + json.dumps(METHOD_PACKAGES[method])] + (extra or [])
    t0 = time.time()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    t1 = time.time()
    (state_dir / "stdout.json").write_text(proc.stdout)
    (state_dir / "stderr.txt").write_text(proc.stderr)
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        doc = None
    report = ((doc or {}).get("output") or {}).get("report") or {}
    return {"rc": proc.returncode, "ok": proc.returncode == 0,
            "status": report.get("status") or (doc or {}).get("status"),
            "codes": error_codes(doc), "start": t0, "end": t1, "wall": t1 - t0,
            "timing": pack_timing(state_dir, t0, t1),
            "stderr_tail": proc.stderr[-1500:] if proc.returncode else ""}


def bench_one(lab: LabCluster, nodes: int, frontend: str, method: str,
              out: Path, extra: list[str]) -> dict[str, Any]:
    """Manual then pack, each from a freshly reset lab, each with the probe running."""
    key = row_key(nodes, frontend, method, extra)
    (out / key).mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"nodes": nodes, "frontend": frontend, "method": method,
                           "date": datetime.datetime.now().isoformat(timespec="minutes"),
                           "packages": METHOD_PACKAGES[method], "load": [load()],
                           "pack_args": extra, "other_labs": other_labs()}
    lab.reset()
    manual, msum = probed(lab, lambda: run_manual(lab, frontend, method,
                                                  METHOD_PACKAGES[method]),
                          out / key / "manual-probe.jsonl")
    (out / key / "manual.json").write_text(json.dumps(manual, indent=1))
    row["load"].append(load())
    lab.reset()
    state_dir = out / key / "pack-state"
    subprocess.run(["rm", "-rf", str(state_dir)], check=False)
    state_dir.mkdir()
    pack, psum = probed(lab, lambda: run_pack(lab, method, state_dir, extra),
                        out / key / "pack-probe.jsonl")
    row["load"].append(load())
    row["manual"] = {k: manual[k] for k in ("ok", "error", "wall", "cmd_time", "wait_time")}
    row["manual"]["probe"] = {k: msum[k] for k in ("failed_time", "longest_outage",
                                                   "requests", "failed", "switchovers")}
    row["pack"] = {k: pack[k] for k in ("ok", "rc", "status", "codes", "wall", "timing",
                                        "stderr_tail", "start", "end")}
    row["pack"]["probe"] = {k: psum[k] for k in ("failed_time", "longest_outage",
                                                 "requests", "failed", "switchovers")}
    return row


def refresh_probe(adir: Path, row: dict[str, Any]) -> None:
    """Probe figures again from the saved JSONL over the procedure's own window (rows
    recorded before the window rule counted the probe's first MARGIN second too)."""
    keys = ("failed_time", "longest_outage", "requests", "failed", "switchovers")
    manual = json.loads((adir / "manual.json").read_text())
    if (adir / "manual-probe.jsonl").exists():
        summary = window_summary(adir / "manual-probe.jsonl", manual["start"], manual["end"])
        row["manual"]["probe"] = {k: summary[k] for k in keys}
    pack = row["pack"]
    if "start" not in pack:
        runs, _ = store_rows(adir / "pack-state")
        top = next((r for r in runs if not r["parent_id"]), None)
        if top is None or pack["timing"]["before_first_task"] is None:
            return
        pack["start"] = top["created_at"] - pack["timing"]["before_first_task"]
        pack["end"] = pack["start"] + pack["timing"]["total"]
    summary = window_summary(adir / "pack-probe.jsonl", pack["start"], pack["end"])
    pack["probe"] = {k: summary[k] for k in keys}


def row_key(nodes: int, frontend: str, method: str, extra: list[str] | None) -> str:
    """results.json key (and artifact directory) of one configuration."""
    return "-".join([str(nodes), frontend, method] + [a.strip("-") for a in extra or []])


def ratio(pack: float, manual: float, valid: bool = True) -> str:
    """pack/manual as text; both zero is 'both 0'; '–' when a side did not complete."""
    if not valid:
        return "–"
    if manual <= 0:
        return "both 0" if pack <= 0 else "∞ (manual 0)"
    return f"{pack / manual:.2f}"


def render(rows: list[dict[str, Any]], ran: str) -> str:
    """The bench:methods section body."""
    lines = [
        "## Update methods: the pack against the manual procedure (bench/bench_methods.py)",
        "",
        "Each row: the lab reset, the **manual** procedure with the VIP probe running, the "
        "lab reset again, the **pack** (`pacemaker-update run update_cluster --yes`, its "
        "failover watcher on, as a user runs it) with the probe running. Probe: HTTP GET on "
        "the VIP every 0.05 s (timeout 0.5 s), from 1 s before to 1 s after each procedure. "
        "**Manual** = `bench/manual_baseline.py`: a skilled person typing the seed's commands "
        "in order (crmsh or pcs 0.11 syntax) over already-authorised SSH, `yum -y update "
        "<pkgs>`, and between commands only the waits a careful person makes: crm_mon polled "
        "every 0.25 s until the effect is seen (resources running elsewhere, node online, "
        "cluster settled); no fixed sleeps, no failback (the pack's default too).",
        "",
        "Overhead, two ways: **CLI** = pack wall (CLI process) − time inside the pack's "
        "actions (run store, leaf tasks' `action_time`; the pack's required waits — crm_mon "
        "verification and settling — happen inside its actions) − explicit delays (store "
        "`delay`, 0 here); **in run** = the same over the run itself (top-level run created → "
        "ended), i.e. the runner's own time between and around actions, without the "
        "interpreter's start and imports. `before 1st` = CLI start → top-level run created "
        "(Python start, imports, config, the cached workflow inspection). "
        "A pack run that ends `paused` (rc 3) or "
        "`failed` is reported as failed with its codes; its probe figures cover only "
        "what it did before stopping.",
        "",
        f"Run: {ran}. This is a shared 2-CPU machine: {labs_beside(rows)}; load averages "
        "(1 min) before manual / before pack / after pack are in the last column; absolute "
        "times (wall, overhead) move with load, the probe's outage figures less.",
        "",
        "Goals (issue 8): failed-time ratio pack/manual ≤ 1.0 for every method; zero "
        "interruption for methods 2 and 3; overhead < 5 % (`run ovh` judges the runner over "
        "the run, `CLI ovh` the whole process).",
        "",
        "| nodes | front end | method | manual failed s / longest s / wall s | pack failed s "
        "/ longest s / wall s | ratio failed | ratio longest | pack inside actions s | "
        "overhead s (%): CLI / in run / before 1st s | pack result | goals | date, load |",
        "|---:|---|---|---|---|---:|---:|---:|---|---|---|---|",
    ]
    order = {m: i for i, m in enumerate(METHODS)}
    for r in sorted(rows, key=lambda r: (r["nodes"], r["frontend"], order[r["method"]])):
        lines.append(render_row(r))
    return "\n".join(lines)


def labs_beside(rows: list[dict[str, Any]]) -> str:
    """Other people's labs seen up when the rows started (recorded per row)."""
    seen = sorted({i for r in rows for i in r.get("other_labs") or []})
    if not any("other_labs" in r for r in rows):
        return "other labs beside this one were not recorded"
    if not seen:
        return "no other lab was up when the rows started"
    return ("other labs up beside this one when rows started: instance(s) "
            + ", ".join(map(str, seen)) + " (people's tests sharing the CPUs)")


def render_row(r: dict[str, Any]) -> str:
    """One table line."""
    m, p = r["manual"], r["pack"]
    mp, pp, t = m["probe"], p["probe"], p["timing"]
    both = p["ok"] and m["ok"]
    label = r["method"] + "".join(f" `{a}`" for a in r.get("pack_args") or [])
    mtxt = f"{mp['failed_time']:.2f} / {mp['longest_outage']:.2f} / {m['wall']:.1f}"
    if not m["ok"]:
        mtxt = f"FAILED ({m['error'][:80]})"
    ptxt = f"{pp['failed_time']:.2f} / {pp['longest_outage']:.2f} / {p['wall']:.1f}"
    result = "ok" if p["ok"] else f"**failed** rc {p['rc']} {', '.join(p['codes']) or '?'}"
    goals = []
    if p["ok"] and m["ok"]:
        goals.append("ratio ✓" if pp["failed_time"] <= mp["failed_time"] else "ratio ✗")
    if r["method"] in ZERO_GOAL:
        goals.append("zero ✓" if pp["failed_time"] == 0 else "zero ✗")
    run_pct = t.get("run_overhead_pct")
    if p["ok"] and run_pct is not None:
        goals.append("run ovh ✓" if run_pct < 5 else "run ovh ✗")
    if p["ok"] and t["overhead_pct"] is not None:
        goals.append("CLI ovh ✓" if t["overhead_pct"] < 5 else "CLI ovh ✗")
    before = t["before_first_task"]
    in_run = (f"{t['run_overhead']:.1f} ({run_pct:.0f} %)" if run_pct is not None else "–")
    return (f"| {r['nodes']} | {r['frontend']} | {label} | {mtxt} | {ptxt} | "
            f"{ratio(pp['failed_time'], mp['failed_time'], both)} | "
            f"{ratio(pp['longest_outage'], mp['longest_outage'], both)} | "
            f"{t['inside_actions']:.1f} | {t['overhead']:.1f} ({t['overhead_pct']:.0f} %) / "
            f"{in_run} / {before:.1f} | {result} | {' '.join(goals)} | {r['date']}, "
            f"{'/'.join(f'{x:.1f}' for x in r['load'])} |"
            if before is not None else
            f"| {r['nodes']} | {r['frontend']} | {label} | {mtxt} | {ptxt} | "
            f"{ratio(pp['failed_time'], mp['failed_time'], both)} | "
            f"{ratio(pp['longest_outage'], mp['longest_outage'], both)} | – | – | {result} | "
            f"{' '.join(goals)} | {r['date']}, {'/'.join(f'{x:.1f}' for x in r['load'])} |")


def write_section(marker: str, body: str) -> None:
    """Replace (or append) the <!-- marker --> section of docs/BENCHMARKS.md, nothing else."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = f"<!-- {marker} -->\n{body}\n<!-- /{marker} -->"
    pattern = re.compile(rf"<!-- {re.escape(marker)} -->.*?<!-- /{re.escape(marker)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> int:
    """Run the selected configurations, merge into results.json, write the table."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--frontends", default="crmsh,pcs")
    ap.add_argument("--nodes", default="2")
    ap.add_argument("--out", default=f"/var/tmp/pmu-bench-methods{INSTANCE}")
    ap.add_argument("--pack-args", default="", help="extra CLI arguments of the pack's run, "
                    "e.g. --no-watch (a separate row)")
    ap.add_argument("--no-write", action="store_true", help="do not touch docs/BENCHMARKS.md")
    ap.add_argument("--render-only", action="store_true", help="rewrite the table from "
                    "results.json without running anything")
    args = ap.parse_args()
    extra = args.pack_args.split()
    methods = [m for m in args.methods.split(",") if m]
    if set(methods) - set(METHODS):
        ap.error(f"unknown method(s): {set(methods) - set(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    ran = os.environ.get("PMU_BENCH_RAN", "")
    if not args.render_only:
        print(f"lab instance {INSTANCE}; results in {out}", flush=True)
        try:
            for nodes in (int(n) for n in args.nodes.split(",")):
                for frontend in args.frontends.split(","):
                    lab = bring_up(nodes, frontend)
                    for method in methods:
                        print(f"== {nodes} nodes, {frontend}, {method} (load {load()})",
                              flush=True)
                        row = bench_one(lab, nodes, frontend, method, out, extra)
                        results[row_key(nodes, frontend, method, extra)] = row
                        results_file.write_text(json.dumps(results, indent=1))
                        print(render_row(row), flush=True)
        finally:
            subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)
    rows = list(results.values())
    for row in rows:   # codes again from the saved CLI output (newer extraction rules)
        key = row_key(row["nodes"], row["frontend"], row["method"], row.get("pack_args"))
        refresh_probe(out / key, row)
        saved = out / key / "pack-state"
        pack = row["pack"]
        if "run_overhead" not in pack["timing"] and "start" in pack and "end" in pack:
            pack["timing"] = pack_timing(saved, pack["start"], pack["end"])  # rows before it
        if (saved / "stdout.json").exists() and not row["pack"]["ok"]:
            with contextlib.suppress(ValueError):
                doc = json.loads((saved / "stdout.json").read_text())
                row["pack"]["codes"] = error_codes(doc)
    ran = ran or ", ".join(sorted({f"{r['nodes']} nodes {r['frontend']}" for r in rows}))
    body = render(rows, ran)
    print(body)
    if not args.no_write:
        write_section("bench:methods", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
