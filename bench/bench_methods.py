"""Benchmarks 1 and 2 of issue 8: service interruption and wall time per update method, the
pack (its CLI) against the "manual" baseline (bench/manual_baseline.py: the seed's commands
typed over SSH with the shortest safe waits), measured side by side in one run on the lab.

For every nodes x front end x method, --repeat N samples (default 1). A sample: reset the
lab, run the manual procedure with the VIP probe running (0.05 s interval), reset, run
`pacemaker-update run update_cluster` with the probe running; samples 2, 4, ... run the pack
first, then the manual procedure (each still from a freshly reset lab). Recorded per side:
the probe's total failed time and longest outage, wall time; for the pack also the time
inside its actions (run store: the leaf tasks' action_time), explicit delays (the store's
delay column) and the runner overhead = CLI wall - time inside actions - delays. The pack's
required waits (crm_mon verification, settling) happen inside its actions, so they are part
of "time inside actions". With --max-load X each sample first waits (at most --load-wait
s) until the 1-min load average is below X.

Results accumulate in <out>/results.json (keyed by nodes/front end/method, newest row wins,
each row a list of samples, artifacts in <out>/<key>/s<i>/) and the whole table (medians
over the samples: bench/bench_methods_table.py) is written into the <!-- bench:methods -->
section of docs/BENCHMARKS.md (or --doc).

Usage (root; give the lab instance, the lab is brought up and always torn down):
  PMU_LAB_INSTANCE=3 .venv/bin/python bench/bench_methods.py \
      [--methods rolling_standby,...] [--frontends crmsh,pcs] [--nodes 2,3] [--repeat 3] \
      [--max-load 1.5 [--load-wait 300]] [--pack-args=--no-watch] \
      [--no-write | --doc FILE] [--render-only]
(--pack-args takes the pack's extra CLI arguments as one word; `--pack-args --no-watch`
works too.)
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_methods_table import render, render_row, samples_of, union_seconds  # noqa: E402
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
    # Actions of one with-items task run at the same time (method 1 updates every node at
    # once): their time is counted once, as the union of the actions' intervals.
    inside = union_seconds([(t["ended_at"] - (t["action_time"] or 0.0), t["ended_at"])
                            for t in leaves if t["ended_at"] is not None])
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


PROBE_KEYS = ("failed_time", "longest_outage", "requests", "failed", "switchovers")


def run_side(lab: LabCluster, side: str, frontend: str, method: str, sdir: Path,
             extra: list[str]) -> dict[str, Any]:
    """Reset the lab, then one side (manual or pack) with the probe running; its record."""
    lab.reset()
    if side == "manual":
        manual, summary = probed(lab, lambda: run_manual(lab, frontend, method,
                                                         METHOD_PACKAGES[method]),
                                 sdir / "manual-probe.jsonl")
        (sdir / "manual.json").write_text(json.dumps(manual, indent=1))
        record = {k: manual[k] for k in ("ok", "error", "wall", "cmd_time", "wait_time")}
    else:
        state_dir = sdir / "pack-state"
        shutil.rmtree(state_dir, ignore_errors=True)
        state_dir.mkdir()
        pack, summary = probed(lab, lambda: run_pack(lab, method, state_dir, extra),
                               sdir / "pack-probe.jsonl")
        record = {k: pack[k] for k in ("ok", "rc", "status", "codes", "wall", "timing",
                                       "stderr_tail", "start", "end")}
    record["probe"] = {k: summary[k] for k in PROBE_KEYS}
    return record


def bench_sample(lab: LabCluster, frontend: str, method: str, sdir: Path,
                 extra: list[str], pack_first: bool) -> dict[str, Any]:
    """One sample: both sides, each from a freshly reset lab, in the given order; the load
    before each side and after the last, kept as [before manual, before pack, after]."""
    order = ["pack", "manual"] if pack_first else ["manual", "pack"]
    sample: dict[str, Any] = {"date": datetime.datetime.now().isoformat(timespec="minutes"),
                              "order": order, "other_labs": other_labs()}
    before: dict[str, float] = {}
    for side in order:
        before[side] = load()
        sample[side] = run_side(lab, side, frontend, method, sdir, extra)
    sample["load"] = [before["manual"], before["pack"], load()]
    return sample


def wait_for_load(max_load: float | None, limit: float) -> dict[str, Any]:
    """Before a sample: wait until the 1-min load average is below max_load, at most
    `limit` s, saying why; the outcome is recorded with the sample."""
    if max_load is None:
        return {"load_guard": None, "load_wait": 0.0}
    t0 = time.monotonic()
    said = -1e9
    while (now := load()) >= max_load:
        waited = time.monotonic() - t0
        if waited >= limit:
            print(f"   load {now:.2f} still ≥ --max-load {max_load} after {waited:.0f} s: "
                  "starting anyway (marked * in the table)", flush=True)
            return {"load_guard": "gave up", "load_wait": round(waited, 1)}
        if waited - said >= 30:
            print(f"   waiting: 1-min load {now:.2f} ≥ --max-load {max_load} "
                  f"({waited:.0f} s of {limit:.0f} s; other labs up: "
                  f"{other_labs() or 'none'})", flush=True)
            said = waited
        time.sleep(5)
    waited = round(time.monotonic() - t0, 1)
    return {"load_guard": "waited" if waited else "ok", "load_wait": waited}


def bench_row(lab: LabCluster, nodes: int, frontend: str, method: str, out: Path,
              extra: list[str], opts: argparse.Namespace,
              save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """opts.repeat samples of one configuration, manual first in samples 1, 3, ... and the
    pack first in 2, 4, ...; the row is saved after every sample (a crash keeps the rest)."""
    key = row_key(nodes, frontend, method, extra)
    shutil.rmtree(out / key, ignore_errors=True)   # the row's previous artifacts
    row: dict[str, Any] = {"nodes": nodes, "frontend": frontend, "method": method,
                           "packages": METHOD_PACKAGES[method], "pack_args": extra,
                           "repeat": opts.repeat, "samples": []}
    for i in range(opts.repeat):
        guard = wait_for_load(opts.max_load, opts.load_wait)
        sdir = out / key / f"s{i + 1}"
        sdir.mkdir(parents=True)
        sample = bench_sample(lab, frontend, method, sdir, extra, pack_first=i % 2 == 1)
        sample.update(guard, dir=f"{key}/s{i + 1}", commit=opts.commit)
        row["samples"].append(sample)
        save(row)
        m, p = sample["manual"], sample["pack"]
        print(f"   sample {i + 1}/{opts.repeat} ({' then '.join(sample['order'])}): manual "
              f"failed {m['probe']['failed_time']:.2f} s wall {m['wall']:.1f} s; pack "
              f"failed {p['probe']['failed_time']:.2f} s wall {p['wall']:.1f} s "
              f"{'ok' if p['ok'] else 'FAILED rc ' + str(p['rc'])}; load "
              f"{'/'.join(map(str, sample['load']))}", flush=True)
    return row


def refresh_probe(adir: Path, row: dict[str, Any]) -> None:
    """Probe figures of one sample again from the saved JSONL over the procedure's own
    window (rows recorded before the window rule counted the probe's first MARGIN second
    too)."""
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


def write_section(marker: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the <!-- marker --> section of doc (docs/BENCHMARKS.md), nothing
    else."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    section = f"<!-- {marker} -->\n{body}\n<!-- /{marker} -->"
    pattern = re.compile(rf"<!-- {re.escape(marker)} -->.*?<!-- /{re.escape(marker)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def commit_id() -> str:
    """HEAD's short id, '+dirty' when the pack, bench or lab have uncommitted changes (the
    tree is shared: the figures are of what was on disk)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True, check=False).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "actions", "bench",
                "lab")
    return head + ("+dirty" if dirty else "")


def refresh_rows(rows: list[dict[str, Any]], out: Path) -> None:
    """Probe figures, timing and codes again from each sample's saved artifacts (newer
    extraction rules); a sample whose artifacts are gone keeps its recorded figures."""
    for row in rows:
        key = row_key(row["nodes"], row["frontend"], row["method"], row.get("pack_args"))
        for sample in samples_of(row):
            adir = out / sample.get("dir", key)
            if not (adir / "manual.json").exists():
                continue
            refresh_probe(adir, sample)
            saved, pack = adir / "pack-state", sample["pack"]
            if "run_overhead" not in pack["timing"] and "start" in pack and "end" in pack:
                pack["timing"] = pack_timing(saved, pack["start"], pack["end"])
            if (saved / "stdout.json").exists() and not pack["ok"]:
                with contextlib.suppress(ValueError):
                    pack["codes"] = error_codes(json.loads((saved / "stdout.json").read_text()))


def join_pack_args(argv: list[str]) -> list[str]:
    """`--pack-args --no-watch` as `--pack-args=--no-watch`: argparse takes a value that
    starts with '-' for an option and fails with "expected one argument"."""
    fixed: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--pack-args" and i + 1 < len(argv):
            fixed.append(f"--pack-args={argv[i + 1]}")
            i += 2
        else:
            fixed.append(argv[i])
            i += 1
    return fixed


def parse_args() -> argparse.Namespace:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--frontends", default="crmsh,pcs")
    ap.add_argument("--nodes", default="2")
    ap.add_argument("--repeat", type=int, default=1, help="samples per row (the order "
                    "manual/pack alternates between samples); the table shows medians")
    ap.add_argument("--max-load", type=float, default=None, help="before each sample, wait "
                    "until the 1-min load average is below this")
    ap.add_argument("--load-wait", type=float, default=300.0, help="longest wait (s) for "
                    "--max-load before starting the sample anyway (marked in the table)")
    ap.add_argument("--out", default=f"/var/tmp/pmu-bench-methods{INSTANCE}")
    ap.add_argument("--doc", default=str(DOC), help="the Markdown file whose bench:methods "
                    "section is rewritten (default docs/BENCHMARKS.md)")
    ap.add_argument("--pack-args", default="", help="extra CLI arguments of the pack's run "
                    "(a separate row), e.g. --pack-args=--no-watch")
    ap.add_argument("--no-write", action="store_true", help="do not touch the --doc file")
    ap.add_argument("--render-only", action="store_true", help="rewrite the table from "
                    "results.json without running anything")
    args = ap.parse_args(join_pack_args(sys.argv[1:]))
    args.methods = [m for m in args.methods.split(",") if m]
    if set(args.methods) - set(METHODS):
        ap.error(f"unknown method(s): {set(args.methods) - set(METHODS)}")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def warm_caches(lab: LabCluster, methods: list[str], out: Path) -> None:
    """A dry run (`plan`, touches nothing) of each method before the first sample: the first
    run after a change of the workflows pays their inspection (about 5 s, cached in
    ~/.cache/pacemaker_update), which would otherwise land in one sample's wall time."""
    t0 = time.monotonic()
    for method in methods:
        state_dir = out / "warm-state"
        shutil.rmtree(state_dir, ignore_errors=True)
        argv = [str(CLI), "plan", "update_cluster", "--config", str(lab.config_path),
                "--cluster", "lab", "--state-dir", str(state_dir), "--json",
                "--param", f"method={method}",
                "--param", "packages=" + json.dumps(METHOD_PACKAGES[method])]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"bench: the dry run of {method} failed (rc {proc.returncode}): "
                             f"{proc.stderr[-800:]}")
    shutil.rmtree(out / "warm-state", ignore_errors=True)
    print(f"caches warmed by a dry run of each method in {time.monotonic() - t0:.1f} s",
          flush=True)


def run_all(args: argparse.Namespace, out: Path, results: dict[str, Any]) -> None:
    """Every selected configuration on the lab (brought up per nodes x front end, always
    torn down), results.json rewritten after every sample."""
    extra = args.pack_args.split()
    args.commit = commit_id()
    results_file = out / "results.json"

    def save(row: dict[str, Any]) -> None:
        results[row_key(row["nodes"], row["frontend"], row["method"], extra)] = row
        results_file.write_text(json.dumps(results, indent=1))
    print(f"lab instance {INSTANCE}; commit {args.commit}; results in {out}", flush=True)
    warmed = False
    try:
        for nodes in (int(n) for n in args.nodes.split(",")):
            for frontend in args.frontends.split(","):
                lab = bring_up(nodes, frontend)
                if not warmed:
                    warm_caches(lab, args.methods, out)
                    warmed = True
                for method in args.methods:
                    print(f"== {nodes} nodes, {frontend}, {method}, {args.repeat} sample(s) "
                          f"(load {load()})", flush=True)
                    row = bench_row(lab, nodes, frontend, method, out, extra, args, save)
                    print(render_row(row), flush=True)
    finally:
        subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)


def main() -> int:
    """Run the selected configurations, merge into results.json, write the table."""
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if not args.render_only:
        run_all(args, out, results)
    rows = list(results.values())
    refresh_rows(rows, out)
    body = render(rows, os.environ.get("PMU_BENCH_RAN", ""), METHODS)
    print(body)
    if not args.no_write:
        write_section("bench:methods", body, Path(args.doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
