"""Benchmark 5 of issue 8: the timeline picture of one rolling update (method 4).

Steps per node on the y axis (from the run store's task transitions: the node each task
acted on, its start and end), the VIP probe's successes and failures on the same time axis
(a strip at the bottom), the switchovers (the answering node changed) annotated. Writes
docs/bench/timeline_rolling_standby.png and the <!-- bench:timeline --> section of
docs/BENCHMARKS.md.

Usage (root):
  PMU_LAB_INSTANCE=3 .venv/bin/python bench/timeline.py            # lab up, run, lab down
  .venv/bin/python bench/timeline.py --from DIR   # reuse a bench_methods artifact directory
      (DIR holds pack-state/runs.sqlite and pack-probe.jsonl)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_methods import leaf_tasks, probed, run_pack, store_rows, write_section  # noqa: E402

PNG = ROOT / "docs" / "bench" / "timeline_rolling_standby.png"
COLORS = {"standby": "#d62728", "online": "#2ca02c", "update": "#1f77b4",
          "failover": "#ff7f0e", "settle": "#9467bd", "health_gate": "#8c564b",
          "settle_moved": "#bcbd22",
          "preflight": "#7f7f7f", "snapshot": "#7f7f7f", "verify": "#7f7f7f"}
HIDDEN = ("record_moves", "close_moves", "render_report")   # bookkeeping, < 0.1 s each


def capture(out: Path) -> None:
    """Lab up (2 nodes, crmsh), one rolling_standby run with the probe, lab down."""
    from pmlab.testing import bring_up
    try:
        lab = bring_up(2, "crmsh")
        lab.reset()
        state = out / "pack-state"
        subprocess.run(["rm", "-rf", str(state)], check=False)
        state.mkdir(parents=True)
        result, _ = probed(lab, lambda: run_pack(lab, "rolling_standby", state),
                           out / "pack-probe.jsonl")
        (out / "pack.json").write_text(json.dumps(result, indent=1))
    finally:
        subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)


def task_bars(state: Path) -> list[dict[str, Any]]:
    """(lane, step, start, end, ok) for every action task; lane = its node or 'cluster'."""
    runs, tasks = store_rows(state)
    bars = []
    for t in leaf_tasks(runs, tasks):
        if t["task_id"] in HIDDEN or not t["started_at"] or not t["ended_at"]:
            continue
        node = (json.loads(t["input"] or "{}") or {}).get("node")
        bars.append({"lane": node or "cluster", "step": t["task_id"], "start": t["started_at"],
                     "end": t["ended_at"], "ok": t["status"] == "succeeded"})
    return bars


def bench_pack_side(src: Path) -> dict[str, Any] | None:
    """The pack side bench_methods recorded for the run in src: <out>/<row>/ (one run per
    row, before --repeat) or <out>/<row>/s<i>/ (sample i of a row); None if not from it."""
    for results, key, index in ((src.parent / "results.json", src.name, None),
                                (src.parent.parent / "results.json", src.parent.name,
                                 src.name[1:] if src.name[:1] == "s" else None)):
        if not results.exists():
            continue
        row = json.loads(results.read_text()).get(key)
        if not row:
            continue
        if "samples" not in row:
            return row.get("pack")
        if index is not None and index.isdigit() and int(index) - 1 < len(row["samples"]):
            return row["samples"][int(index) - 1].get("pack")
    return None


def startup_seconds(src: Path) -> float | None:
    """CLI start -> first task, from bench_methods' results (when the run came from it)."""
    pack = bench_pack_side(src)
    if pack is None:
        return None
    runs, tasks = store_rows(src / "pack-state")
    first = min((t["started_at"] for t in tasks if t["started_at"]), default=None)
    start = pack.get("start")
    if start is None and runs and pack["timing"]["before_first_task"] is not None:
        start = runs[0]["created_at"] - pack["timing"]["before_first_task"]
    return first - start if first is not None and start is not None else None


def load_probe(path: Path) -> list[dict[str, Any]]:
    """The probe's JSONL records."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def draw(bars: list[dict[str, Any]], probe: list[dict[str, Any]], png: Path,
         title: str, startup: float | None) -> dict[str, Any]:
    """The picture, from 2 s before the first task to 2 s after the last; returns the
    figures it shows (outages, switchovers over that span)."""
    t0 = min(b["start"] for b in bars) - 2.0
    t_end = max(b["end"] for b in bars) + 2.0
    probe = [r for r in probe if t0 <= r["ts"] <= t_end]
    lanes = sorted({b["lane"] for b in bars if b["lane"] != "cluster"}) + ["cluster"]
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(13, 2.2 + 0.9 * len(lanes)), sharex=True,
                                  gridspec_kw={"height_ratios": [len(lanes), 1.3]})
    for b in bars:
        y = lanes.index(b["lane"])
        color = COLORS.get(b["step"], "#bcbd22") if b["ok"] else "black"
        ax.barh(y, b["end"] - b["start"], left=b["start"] - t0, height=0.55, color=color,
                edgecolor="white")
        width = b["end"] - b["start"]
        if width > len(b["step"]) * 0.17 * (t_end - t0) / 38:
            ax.text((b["start"] + b["end"]) / 2 - t0, y, b["step"], ha="center",
                    va="center", fontsize=7, color="white", fontweight="bold")
        elif b["lane"] != "cluster":
            ax.text((b["start"] + b["end"]) / 2 - t0, y - 0.36, b["step"], ha="center",
                    va="bottom", fontsize=7)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=11)
    if startup is not None:
        ax.text(0.005, 0.97, f"before the first task: {startup:.0f} s of CLI start-up "
                "(workflow loading), not drawn", transform=ax.transAxes, fontsize=8,
                va="top", color="#555555")
    ax.set_xlim(0, t_end - t0)
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in
               ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#bcbd22", "#9467bd", "#8c564b")]
    ax.legend(handles, ["yum update", "standby", "online", "failover (standby+online)",
                        "verify moved (settled elsewhere)", "wait until settled",
                        "health gate"],
              loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=7, fontsize=8,
              frameon=False)
    ok_ts = [r["ts"] - t0 for r in probe if r["ok"]]
    bad_ts = [r["ts"] - t0 for r in probe if not r["ok"]]
    axp.vlines(ok_ts, 0, 1, color="#2ca02c", linewidth=0.6)
    axp.vlines(bad_ts, 0, 1, color="#d62728", linewidth=1.2)
    axp.set_yticks([0.5], ["VIP probe\n(green ok,\nred failed)"])
    axp.set_ylim(0, 1.9)
    axp.set_xlabel("seconds (0 = 2 s before the pack's first task)")
    figures = annotate(axp, ax, probe, t0)
    axp.set_title(f"probe every 0.05 s: {figures['failed']} of {figures['requests']} "
                  f"requests failed, {figures['failed_time']:.2f} s failed in total, "
                  f"longest outage {figures['longest']:.2f} s", fontsize=9, loc="left")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return figures


def annotate(axp: Any, ax: Any, probe: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    """Mark each switchover (answering node changed) and each outage's length."""
    from pmlab.probe import summarize
    s = summarize(probe)
    prev = None
    for r in probe:
        if not r["ok"]:
            continue
        if prev is not None and r["node"] != prev:
            x = r["ts"] - t0
            axp.axvline(x, color="black", linestyle="--", linewidth=0.8)
            ax.axvline(x, color="black", linestyle="--", linewidth=0.8)
            axp.annotate(f"{prev}→{r['node']}", (x, 1.05), xytext=(3, 0),
                         textcoords="offset points", fontsize=8)
        prev = r["node"]
    for start, length in s["outages"]:
        axp.annotate(f"{length:.2f} s", (start - t0, 1.5), fontsize=8, color="#d62728")
    return {"failed": s["failed"], "requests": s["requests"], "failed_time": s["failed_time"],
            "longest": s["longest_outage"], "switchovers": s["switchovers"]}


def main() -> int:
    """Capture (or reuse) one run, draw the PNG, write the doc section."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", help="existing directory with pack-state/ and "
                    "pack-probe.jsonl (e.g. from bench_methods)")
    ap.add_argument("--png", default=str(PNG))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load = round(os.getloadavg()[0], 2)
    if args.src:
        src = Path(args.src)
    else:
        src = Path(f"/var/tmp/pmu-timeline{os.environ.get('PMU_LAB_INSTANCE', '0')}")
        src.mkdir(parents=True, exist_ok=True)
        for stale in ("pack-probe.jsonl",):
            (src / stale).unlink(missing_ok=True)
        capture(src)
    bars = task_bars(src / "pack-state")
    probe = load_probe(src / "pack-probe.jsonl")
    when = datetime.datetime.fromtimestamp(min(b["start"] for b in bars))
    title = (f"rolling_standby (method 4) of httpd on 2 nodes, crmsh, through the pack's CLI — "
             f"{when:%Y-%m-%d %H:%M}")
    figures = draw(bars, probe, Path(args.png), title, startup_seconds(src))
    print(json.dumps(figures))
    if not args.no_write:
        rel = Path(args.png).resolve().relative_to(ROOT / "docs")
        write_section("bench:timeline", "\n".join([
            "## Timeline of one rolling update (bench/timeline.py)", "",
            f"![timeline of a rolling_standby update]({rel})", "",
            f"One `rolling_standby` run of the pack (httpd, 2 nodes, crmsh) on the lab, "
            f"{when:%Y-%m-%d %H:%M}, load average {load:.1f} (shared 2-CPU machine). Rows: "
            "the pack's action tasks per node they acted on (from the run store's task "
            "transitions; `cluster` = tasks without a node: preflight, snapshot, settle, "
            "health gate, verify); bottom strip: every probe request to the VIP (0.05 s), "
            "green answered, red failed; dashed lines: switchovers (the answering node "
            f"changed). Seen by the probe: {figures['failed']} of {figures['requests']} "
            f"requests failed, {figures['failed_time']:.2f} s in total, longest outage "
            f"{figures['longest']:.2f} s, switchovers {', '.join(figures['switchovers'])}.",
        ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
