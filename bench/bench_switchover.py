"""Benchmark 1 of issue 8, one switchover many times: does the pack add interruption to a
switchover? The pack's standby (its set_node_standby action, run in-process as the engine
runs it) against the manual command (bench/manual_baseline.py: `crm node standby P` /
`pcs node standby P` over SSH, crm_mon polled every 0.25 s until the service runs elsewhere).

A sample: the lab settled with the service on P; the VIP probe running (0.05 s interval,
0.5 s timeout, from 1 s before to 1 s after); standby P by one side; then, untimed, P online
again (stickiness keeps the service where it moved) and the cluster settled. Recorded per
sample: the probe's failed time, and from the nodes' pacemaker.log the real gap (web's stop
done on P -> web's start done elsewhere) and whether ocf:heartbeat:anything's stop slept its
1 s (it checks the process right after SIGTERM and sleeps 1 s when it is still there: a coin
flip per switchover, ~0.6 s or ~1.6 s of failed time, whatever side typed the command).
The sides alternate sample by sample (manual first in samples 1, 3, ..., the pack first in
2, 4, ...), so the machine's other load hits both alike.

The table (pure functions below: medians, means, a fixed-seed permutation test) goes into the
<!-- bench:switchover --> section of docs/BENCHMARKS.md (inserted after bench:methods);
every sample is saved as a JSON line in <out>/<UTC stamp>-<front end>.jsonl.

Usage (root; give the lab instance, the lab is brought up and always torn down):
  PMU_LAB_INSTANCE=3 .venv/bin/python bench/bench_switchover.py [-n 20] \
      [--frontends crmsh,pcs] [--out DIR] [--no-write | --doc FILE]
  .venv/bin/python bench/bench_switchover.py --render FILE.jsonl [FILE.jsonl ...]
"""
from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_methods import DOC, commit_id, load, probed, write_section  # noqa: E402
from manual_baseline import Manual  # noqa: E402
from pmlab.consts import INSTANCE  # noqa: E402

SIDES = ("manual", "pack")
MARKER = "bench:switchover"
AFTER = "<!-- /bench:methods -->"
SHUFFLES = 10_000
SEED = 8
SLEEP_MIN = 0.9   # web's stop taking at least this long (s) = the agent's 1 s sleep happened
LOGLINE = re.compile(r"^(\w+ +\d+ [\d:.]+) (\S+) pacemaker-controld .*?Result of "
                     r"(stop|start) operation for web on (\S+?):? ")
REQLINE = re.compile(r"^(\w+ +\d+ [\d:.]+) (\S+) pacemaker-controld .*?Requesting local "
                     r"execution of stop operation for web on ")


# -- statistics and rendering (pure) ---------------------------------------------------------
def permutation_p(a: Sequence[float], b: Sequence[float], shuffles: int = SHUFFLES,
                  seed: int = SEED) -> float | None:
    """Two-sided permutation test of mean(b) - mean(a): the share of random relabellings
    (fixed seed, so the table is reproducible) whose difference is at least as large, counting
    the observed labelling ((k + 1) / (shuffles + 1), never 0). None if a side is empty."""
    if not a or not b:
        return None
    observed = abs(statistics.fmean(b) - statistics.fmean(a))
    pool = list(a) + list(b)
    rng = random.Random(seed)
    hits = 0
    for _ in range(shuffles):
        rng.shuffle(pool)
        diff = statistics.fmean(pool[len(a):]) - statistics.fmean(pool[:len(a)])
        if abs(diff) >= observed - 1e-12:
            hits += 1
    return (hits + 1) / (shuffles + 1)


def usable(records: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
    """One side's samples that switched over and have their figures (failed ones are counted
    apart in the table)."""
    return [r for r in records if r["side"] == side and r["ok"] and r.get("gap") is not None]


def side_figures(recs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """The per-sample values the table compares: probe failed time (all samples and those
    without the agent's sleep) and the real gap from the logs."""
    return {"failed": [r["failed_time"] for r in recs],
            "failed_fast": [r["failed_time"] for r in recs if not r["slept"]],
            "gap": [r["gap"] for r in recs]}


def fmt(value: float | None, unit: str = " s", digits: int = 3) -> str:
    """A figure, or '–' when there is none."""
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def med(xs: Sequence[float]) -> float | None:
    """Median, None for no values."""
    return statistics.median(xs) if xs else None


def mean(xs: Sequence[float]) -> float | None:
    """Mean, None for no values."""
    return statistics.fmean(xs) if xs else None


def ratio(num: float | None, den: float | None) -> str:
    """num ÷ den, '–' when either is missing or den is 0."""
    return "–" if num is None or not den else f"{num / den:.2f}"


def render_frontend(frontend: str, records: list[dict[str, Any]]) -> str:
    """The table of one front end: manual | pack | pack ÷ manual (medians) | p (means)."""
    mine = [r for r in records if r["frontend"] == frontend]
    recs = {side: usable(mine, side) for side in SIDES}
    figs = {side: side_figures(recs[side]) for side in SIDES}
    failed = {side: sum(1 for r in mine if r["side"] == side) - len(recs[side])
              for side in SIDES}
    m, p = figs["manual"], figs["pack"]
    lines = [f"**{frontend}**", "",
             "| | manual | pack | pack ÷ manual (medians) | p (means differ) |",
             "|---|---|---|---|---|",
             f"| samples (failed, left out) | {len(recs['manual'])} ({failed['manual']}) | "
             f"{len(recs['pack'])} ({failed['pack']}) | | |",
             "| with the agent's 1 s sleep | "
             + " | ".join(str(sum(1 for r in recs[s] if r["slept"])) for s in SIDES) + " | | |"]
    rows = (("probe failed time, all samples", "failed"),
            ("probe failed time, samples without the sleep", "failed_fast"),
            ("real gap from the logs (web stopped → started elsewhere)", "gap"))
    for label, key in rows:
        cells = [f"{fmt(med(f[key]))} / {fmt(mean(f[key]))}" for f in (m, p)]
        p_value = permutation_p(m[key], p[key])
        lines.append(f"| {label}: median / mean | {cells[0]} | {cells[1]} | "
                     f"{ratio(med(p[key]), med(m[key]))} | "
                     f"{'–' if p_value is None else f'{p_value:.2f}'} |")
    return "\n".join(lines)


def render(meta: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The whole bench:switchover section body: explanation, run line, one table per front
    end."""
    frontends = list(dict.fromkeys(r["frontend"] for r in records))
    n = meta.get("n")
    intro = (
        "### One switchover, many samples: the pack's standby vs the manual command\n\n"
        "Issue 8's goal (interruption of the pack ÷ the manual baseline ≤ 1.0) for the one "
        "step where the service moves. A sample: the lab (2 nodes) settled with the service "
        "on P, the VIP probed every 0.05 s (0.5 s timeout), then P put in standby either by "
        "the manual command (`crm node standby P` / `pcs node standby P` over SSH, crm_mon "
        "polled every 0.25 s until the service runs elsewhere: bench/manual_baseline.py) or "
        "by the pack's set_node_standby action (in-process, as the engine runs it); P online "
        "again untimed. The sides alternate sample by sample, so the machine's other load "
        "hits both alike.\n\n"
        "The coin: ocf:heartbeat:anything's stop checks its process right after SIGTERM and, "
        "if it is still there, sleeps 1 s, so every switchover costs ~0.6 s or ~1.6 s of "
        "failed time whoever typed the command (docs/LAB.md), and the probe's timeout "
        "quantises it further. The per-method table above compares medians of a few samples "
        "of whole methods, so one coin more on one side swings its ratio from 0.4 to 2.7 "
        "with no difference in the pack; here each side has many samples, the coin is "
        "counted (from web's stop time in pacemaker.log), the failed time is shown also "
        "over the samples without the sleep, and the real gap from the logs (web's stop "
        "done → web's start done on the other node) does not contain the coin at all. "
        "p: two-sided permutation test of the difference of the means "
        f"({SHUFFLES} shuffles, seed {SEED}); a large p means no difference is visible.\n")
    run_line = (f"Run {meta.get('date', '?')}, commit {meta.get('commit', '?')}, "
                f"{n} samples per side and front end, lab instance {meta.get('instance')}, "
                f"1-min load {meta.get('load_before', '?')} before / "
                f"{meta.get('load_after', '?')} after; "
                f"{fmt(meta.get('seconds_per_sample'), ' s', 1)} per sample.")
    if meta.get("note"):
        run_line += f" {meta['note']}"
    tables = "\n\n".join(render_frontend(fe, records) for fe in frontends)
    return f"{intro}\n{run_line}\n\n{tables}"


def insert_section(body: str, doc: Path) -> None:
    """Write the section: replaced where it is, else inserted right after bench:methods
    (appended when that is missing too)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if f"<!-- {MARKER} -->" not in text and AFTER in text:
        section = f"<!-- {MARKER} -->\n<!-- /{MARKER} -->"
        doc.write_text(text.replace(AFTER, f"{AFTER}\n\n{section}", 1))
    write_section(MARKER, body, doc)


# -- the lab ---------------------------------------------------------------------------------
def log_times(lab: Any, since: float) -> dict[str, float]:
    """From every node's pacemaker.log after `since`: first web stop requested and done (on
    any node) and the first web start done."""
    year = datetime.datetime.now(datetime.timezone.utc).year
    found: dict[str, float] = {}
    for node in lab.nodes:
        path = lab.state_dir / "nodes" / node / "fs" / "log-pacemaker" / "pacemaker.log"
        for line in path.read_text(errors="replace").splitlines():
            match = LOGLINE.match(line) or REQLINE.match(line)
            if not match:
                continue
            stamp = datetime.datetime.strptime(f"{year} {match.group(1)}",
                                               "%Y %b %d %H:%M:%S.%f")
            ts = stamp.replace(tzinfo=datetime.timezone.utc).timestamp()
            key = f"{match.group(3)}_done" if match.re is LOGLINE else "stop_req"
            if ts >= since and ts < found.get(key, float("inf")):
                found[key] = ts
    return found


def standby_manual(lab: Any, frontend: str, node: str) -> dict[str, Any]:
    """The manual command and the careful person's wait until the service moved."""
    manual = Manual(lab, frontend)
    try:
        manual.run(node, manual.fe("standby", node), "standby")
        manual.wait_moved_off(node)
    finally:
        manual.close()
    return {"ok": True}


def standby_pack(config: dict[str, Any], node: str) -> dict[str, Any]:
    """The pack's set_node_standby action, as the engine runs it (verified in crm_mon)."""
    from set_node_standby import SetNodeStandby  # type: ignore[import-not-found]
    ok, envelope = SetNodeStandby(config=config).run(cluster="lab", node=node, enabled=True)
    return {"ok": bool(ok), "error": None if ok else envelope.get("error")}


def take_sample(lab: Any, side: str, frontend: str, config: dict[str, Any], probe_out: Path
                ) -> dict[str, Any]:
    """One switchover by one side, probed; P online again afterwards (untimed)."""
    node = lab.summary()["resources"]["web"][0]
    before = load()
    t0 = time.time()
    try:
        result, summary = probed(lab, (lambda: standby_manual(lab, frontend, node))
                                 if side == "manual" else (lambda: standby_pack(config, node)),
                                 probe_out)
    except Exception as exc:  # noqa: BLE001 - a failed sample is recorded, the run goes on
        result, summary = {"ok": False, "error": repr(exc)[:300]}, {}
    times = log_times(lab, t0)
    rec: dict[str, Any] = {"side": side, "frontend": frontend, "node": node, "load": before,
                           "ok": result["ok"], "error": result.get("error"),
                           "failed_time": summary.get("failed_time"),
                           "longest_outage": summary.get("longest_outage"),
                           "switchovers": summary.get("switchovers"), "gap": None,
                           "slept": None}
    if {"stop_req", "stop_done", "start_done"} <= times.keys():
        rec["stop_time"] = round(times["stop_done"] - times["stop_req"], 3)
        rec["slept"] = rec["stop_time"] >= SLEEP_MIN
        rec["gap"] = round(times["start_done"] - times["stop_done"], 3)
    lab.exec(node, ["crm_attribute", "--node", node, "--name", "standby", "--delete"])
    lab.wait_settled()
    return rec


def run_frontend(frontend: str, n: int, out: Path, stamp: str) -> list[dict[str, Any]]:
    """n samples per side on a lab with this front end, sides alternating; every sample
    appended to <out>/<stamp>-<frontend>.jsonl as it is taken."""
    import yaml
    from pmlab.testing import bring_up
    for extra in (ROOT / "actions", ROOT / "actions" / "lib"):
        if str(extra) not in sys.path:
            sys.path.insert(0, str(extra))
    lab = bring_up(2, frontend)
    lab.reset()
    config = yaml.safe_load(lab.config_path.read_text())
    records: list[dict[str, Any]] = []
    with open(out / f"{stamp}-{frontend}.jsonl", "a") as fh:
        for i in range(n):
            order = SIDES if i % 2 == 0 else SIDES[::-1]
            for side in order:
                t0 = time.monotonic()
                rec = take_sample(lab, side, frontend, config,
                                  out / f"{stamp}-{frontend}-{i + 1:02d}-{side}-probe.jsonl")
                rec.update(i=i + 1, seconds=round(time.monotonic() - t0, 1))
                records.append(rec)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                print(f"   {frontend} {i + 1}/{n} {side:6s} ok {rec['ok']} failed "
                      f"{rec['failed_time']} s gap {rec['gap']} s slept {rec['slept']} "
                      f"({rec['seconds']} s, load {rec['load']})", flush=True)
    return records


# -- command line ----------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20, help="samples per side and front end")
    ap.add_argument("--frontends", default="crmsh,pcs")
    ap.add_argument("--out", default=f"/var/tmp/pmu-bench-switchover{INSTANCE}")
    ap.add_argument("--doc", default=str(DOC), help="the Markdown file whose "
                    "bench:switchover section is written (default docs/BENCHMARKS.md)")
    ap.add_argument("--no-write", action="store_true", help="do not touch the --doc file")
    ap.add_argument("--note", default="", help="a sentence added to the run line")
    ap.add_argument("--render", nargs="+", metavar="JSONL", help="only render the table from "
                    "saved runs (their .meta.json beside the first file), run nothing")
    args = ap.parse_args()
    if args.n < 1:
        ap.error("-n must be at least 1")
    return args


def run_all(args: argparse.Namespace, out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every front end on the lab (always torn down); (meta, records)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit_id(), "n": args.n, "instance": INSTANCE, "load_before": load(),
        "note": args.note}
    print(f"lab instance {INSTANCE}; commit {meta['commit']}; samples in {out}", flush=True)
    records: list[dict[str, Any]] = []
    try:
        for frontend in args.frontends.split(","):
            records += run_frontend(frontend, args.n, out, stamp)
    finally:
        subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)
    meta["load_after"] = load()
    meta["seconds_per_sample"] = statistics.fmean(r["seconds"] for r in records)
    (out / f"{stamp}.meta.json").write_text(json.dumps(meta, indent=1))
    return meta, records


def main() -> int:
    """Run (or re-render), print and write the section."""
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.render:
        files = [Path(f) for f in args.render]
        meta_file = files[0].parent / (files[0].name.split("-")[0] + ".meta.json")
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        records = [json.loads(line) for f in files for line in f.read_text().splitlines()
                   if line.strip()]
    else:
        meta, records = run_all(args, out)
    body = render(meta, records)
    print(body)
    if not args.no_write:
        insert_section(body, Path(args.doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
