"""The bench:methods table of bench/bench_methods.py: medians over repeated samples, the
spread of the failed time, ratios of medians and the goals, as pure functions over the
results.json structure (no lab, no I/O), so the rendering can be unit-tested.

A row of results.json is one nodes x front end x method (x pack arguments). New rows hold
`samples`, a list of runs, each with `manual`, `pack`, `load` (1-min load average before
manual / before pack / after the sample's last side), `order`, `date`, `other_labs`, and
the load guard's outcome. Rows written before --repeat existed are one sample themselves
(their `manual`/`pack`/`load` at the top level) and render the same way.
"""
from __future__ import annotations

import statistics
from typing import Any, Callable, Iterable, Sequence

# the runner's own union of action intervals (parallel actions counted once), re-exported
from pacemaker_update.engine.result import union_length as union_seconds  # noqa: F401

ZERO_GOAL = ("cluster_maintenance", "node_maintenance")
GOAL_PCT = 5.0

HEADER = (
    "| nodes | front end | method | samples | manual failed s / longest s / wall s | pack "
    "failed s / longest s / wall s | ratio failed | ratio longest | failed s min–max: "
    "manual / pack | pack inside actions s | overhead s (%): CLI / in run / before 1st s | "
    "pack result | goals | date, load |\n"
    "|---:|---|---|---:|---|---|---:|---:|---|---:|---|---|---|---|")

EXPLAIN = [
    "Each sample: the lab reset, the **manual** procedure with the VIP probe running, the "
    "lab reset again, the **pack** (`pacemaker-update run update_cluster --yes`, its "
    "failover watcher on, as a user runs it) with the probe running; with several samples "
    "per row the order alternates (manual first in samples 1, 3, …, the pack first in 2, 4, "
    "…), each side still from a freshly reset lab. Probe: HTTP GET on the VIP every 0.05 s "
    "(timeout 0.5 s), from 1 s before to 1 s after each procedure; a side's figures count "
    "the requests from its start to 1 s after its end. **Manual** = "
    "`bench/manual_baseline.py`: a skilled person typing the seed's commands in order "
    "(crmsh or pcs 0.11 syntax) over already-authorised SSH, `yum -y update <pkgs>`, and "
    "between commands only the waits a careful person makes: crm_mon polled every 0.25 s "
    "until the effect is seen (resources running elsewhere, node online, cluster settled); "
    "no fixed sleeps, no failback (the pack's default too).",
    "",
    "**Medians.** A switchover in this lab takes either about 0.6 s or about 1.6 s "
    "(docs/LAB.md: the web agent's stop loop checks once a second), on either side, so one "
    "sample's ratio of 2.6 or 0.4 is one toss of that coin; hence several samples per row. "
    "`samples` = the row's runs; a *complete* sample is one where both sides finished "
    "(`k/N`: only k of the N samples were complete). Every figure in the manual and pack "
    "columns (failed time, longest outage, wall) and in the pack inside-actions and "
    "overhead columns is the median, over the row's complete samples, of that figure "
    "taken per sample (an overhead % is the median of the per-sample percentages, not a "
    "ratio of medians). `ratio failed` = median pack "
    "failed time / median manual failed time; `ratio longest` likewise for the longest "
    "outage. `failed s min–max` = the smallest and largest failed time over the complete "
    "samples, per side (one value when they are equal). With no complete sample, the "
    "figures are medians over all samples and the ratios are `–`.",
    "",
    "Overhead, two ways: **CLI** = pack wall (CLI process) − time inside the pack's "
    "actions (run store, leaf tasks' `action_time`; the pack's required waits — crm_mon "
    "verification and settling — happen inside its actions) − explicit delays (store "
    "`delay`, 0 here); **in run** = the same over the run itself (top-level run created → "
    "ended), i.e. the runner's own time between and around actions, without the "
    "interpreter's start and imports. `before 1st` = CLI start → top-level run created "
    "(Python start, imports, config, the cached workflow inspection). A pack run that ends "
    "`paused` (rc 3) or `failed` is reported as failed with its codes (`failed k/N` when "
    "some samples failed); its probe figures cover only what it did before stopping and "
    "are left out of the medians.",
]


def samples_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's samples; a row recorded before --repeat existed is its own one sample."""
    return list(row["samples"]) if "samples" in row else [row]


def complete(sample: dict[str, Any]) -> bool:
    """Both sides of the sample finished (their figures are comparable)."""
    return bool(sample["manual"]["ok"] and sample["pack"]["ok"])


def median_of(samples: Iterable[dict[str, Any]],
              get: Callable[[dict[str, Any]], Any]) -> float | None:
    """Median of get(sample) over the samples where it is known; None if it never is."""
    values = [v for v in (get(s) for s in samples) if v is not None]
    return statistics.median(values) if values else None


def spread(samples: Sequence[dict[str, Any]], side: str) -> str:
    """'min–max' of one side's probe failed time (one value when equal, '–' if none)."""
    values = [s[side]["probe"]["failed_time"] for s in samples]
    if not values:
        return "–"
    low, high = min(values), max(values)
    return f"{low:.2f}" if low == high else f"{low:.2f}–{high:.2f}"


def ratio(pack: float | None, manual: float | None, valid: bool = True) -> str:
    """pack/manual as text; both zero is 'both 0'; '–' when a side did not complete."""
    if not valid or pack is None or manual is None:
        return "–"
    if manual <= 0:
        return "both 0" if pack <= 0 else "∞ (manual 0)"
    return f"{pack / manual:.2f}"


def figure(value: float | None, fmt: str = ".2f") -> str:
    """A number, or '–' when unknown."""
    return "–" if value is None else format(value, fmt)


def timing(key: str) -> Callable[[dict[str, Any]], Any]:
    """Getter of the pack's timing figure `key` of a sample."""
    return lambda s: s["pack"]["timing"].get(key)


def probe(side: str, key: str) -> Callable[[dict[str, Any]], Any]:
    """Getter of one side's probe figure `key` of a sample."""
    return lambda s: s[side]["probe"][key]


def wall(side: str) -> Callable[[dict[str, Any]], Any]:
    """Getter of one side's wall time of a sample."""
    return lambda s: s[side]["wall"]


def summarize_row(row: dict[str, Any]) -> dict[str, Any]:
    """Medians, spreads, ratios of medians and goal verdicts of one row."""
    samples = samples_of(row)
    done = [s for s in samples if complete(s)]
    basis = done or samples
    med = {name: median_of(basis, get) for name, get in (
        ("m_failed", probe("manual", "failed_time")),
        ("m_longest", probe("manual", "longest_outage")), ("m_wall", wall("manual")),
        ("p_failed", probe("pack", "failed_time")),
        ("p_longest", probe("pack", "longest_outage")), ("p_wall", wall("pack")),
        ("inside", timing("inside_actions")), ("overhead", timing("overhead")),
        ("overhead_pct", timing("overhead_pct")), ("run_overhead", timing("run_overhead")),
        ("run_pct", timing("run_overhead_pct")), ("before", timing("before_first_task")))}
    return {"samples": samples, "complete": done, "median": med,
            "ratio_failed": ratio(med["p_failed"], med["m_failed"], bool(done)),
            "ratio_longest": ratio(med["p_longest"], med["m_longest"], bool(done)),
            "spread": f"{spread(done, 'manual')} / {spread(done, 'pack')}" if done else "–",
            "goals": judge_goals(row["method"], samples, done, med)}


def at_most(pack: float | None, manual: float | None) -> bool:
    """pack/manual ≤ 1.0 as the table shows it (two decimals: 0.6012 against 0.6004 is
    1.00, within one probe interval), both zero included."""
    pack, manual = pack or 0.0, manual or 0.0
    if manual <= 0:
        return pack <= 0
    return round(pack / manual, 2) <= 1.0


def judge_goals(method: str, samples: list[dict[str, Any]], done: list[dict[str, Any]],
                med: dict[str, float | None]) -> list[str]:
    """Issue 8's goals: ratios of medians ≤ 1.0 (failed time and longest outage), zero
    interruption for methods 2 and 3 on every sample (failed pack runs included), overhead
    medians < 5 %."""
    goals = []
    if done:
        ok = at_most(med["p_failed"], med["m_failed"]) and \
            at_most(med["p_longest"], med["m_longest"])
        goals.append("ratio ✓" if ok else "ratio ✗")
    if method in ZERO_GOAL:
        hit = sum(1 for s in samples if s["pack"]["probe"]["failed_time"] > 0)
        goals.append("zero ✓" if not hit else
                     "zero ✗" + (f" ({hit}/{len(samples)})" if len(samples) > 1 else ""))
    for label, key in (("run ovh", "run_pct"), ("CLI ovh", "overhead_pct")):
        pct = med[key]
        if done and pct is not None:
            goals.append(f"{label} ✓" if pct < GOAL_PCT else f"{label} ✗")
    return goals


def pack_result(samples: list[dict[str, Any]]) -> str:
    """'ok', or the failed pack runs with their rc and codes (and manual failures)."""
    failed = [s["pack"] for s in samples if not s["pack"]["ok"]]
    parts = []
    if not failed:
        parts.append("ok")
    else:
        what = "; ".join(sorted({f"rc {p['rc']} {', '.join(p['codes']) or '?'}"
                                 for p in failed}))
        count = f" {len(failed)}/{len(samples)}" if len(samples) > 1 else ""
        parts.append(f"**failed**{count} {what}")
    manual_failed = [s["manual"] for s in samples if not s["manual"]["ok"]]
    if manual_failed:
        parts.append(f"manual FAILED {len(manual_failed)}/{len(samples)}")
    return "; ".join(parts)


def dates_and_loads(samples: list[dict[str, Any]]) -> str:
    """First–last date and every sample's loads (before manual/before pack/after), '*' after
    a sample whose load guard gave up waiting."""
    dates = [s["date"] for s in samples]
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]}–{dates[-1].split('T')[-1]}"
    loads = "; ".join("/".join(f"{x:.1f}" for x in s["load"])
                      + ("*" if s.get("load_guard") == "gave up" else "") for s in samples)
    return f"{when}, {loads}"


def render_row(row: dict[str, Any]) -> str:
    """One table line."""
    info = summarize_row(row)
    med, samples = info["median"], info["samples"]
    label = row["method"] + "".join(f" `{a}`" for a in row.get("pack_args") or [])
    manual_ok = [s for s in samples if s["manual"]["ok"]]
    mtxt = (f"{figure(med['m_failed'])} / {figure(med['m_longest'])} / "
            f"{figure(med['m_wall'], '.1f')}")
    if not manual_ok:
        mtxt = f"FAILED ({(samples[-1]['manual']['error'] or '?')[:80]})"
    ptxt = (f"{figure(med['p_failed'])} / {figure(med['p_longest'])} / "
            f"{figure(med['p_wall'], '.1f')}")
    n = f"{len(info['complete'])}/{len(samples)}" if len(info["complete"]) < len(samples) \
        else str(len(samples))
    if med["before"] is None:
        inside, over = "–", "–"
    else:
        in_run = ("–" if med["run_pct"] is None else
                  f"{figure(med['run_overhead'], '.1f')} ({med['run_pct']:.0f} %)")
        inside = figure(med["inside"], ".1f")
        over = (f"{figure(med['overhead'], '.1f')} ({figure(med['overhead_pct'], '.0f')} %) "
                f"/ {in_run} / {med['before']:.1f}")
    return (f"| {row['nodes']} | {row['frontend']} | {label} | {n} | {mtxt} | {ptxt} | "
            f"{info['ratio_failed']} | {info['ratio_longest']} | {info['spread']} | "
            f"{inside} | {over} | {pack_result(samples)} | {' '.join(info['goals'])} | "
            f"{dates_and_loads(samples)} |")


def labs_beside(rows: list[dict[str, Any]]) -> str:
    """Other people's labs seen up when the samples started (recorded per sample)."""
    samples = [s for r in rows for s in samples_of(r)]
    if not any("other_labs" in s for s in samples):
        return "other labs beside this one were not recorded"
    seen = sorted({i for s in samples for i in s.get("other_labs") or []})
    if not seen:
        return "no other lab was up when the samples started"
    return ("other labs up beside this one when samples started: instance(s) "
            + ", ".join(map(str, seen)) + " (people's tests sharing the CPUs)")


def describe_run(rows: list[dict[str, Any]]) -> str:
    """Default 'Run:' text: configurations, samples per row, commits, dates, load range."""
    if not rows:
        return "nothing yet"
    samples = [s for r in rows for s in samples_of(r)]
    configs = sorted({f"{r['nodes']} nodes {r['frontend']}" for r in rows})
    counts = sorted({len(samples_of(r)) for r in rows})
    commits = sorted({s["commit"] for s in samples if s.get("commit")})
    dates = sorted(s["date"] for s in samples)
    loads = [x for s in samples for x in s["load"]]
    text = (f"{', '.join(configs)}; {'/'.join(map(str, counts))} sample(s) per row; "
            f"{dates[0]} – {dates[-1]}")
    if commits:
        text += f"; commit {', '.join(commits)}"
    return text + f"; load {min(loads):.1f}–{max(loads):.1f}"


def render(rows: list[dict[str, Any]], ran: str, order: Sequence[str]) -> str:
    """The bench:methods section body (rows sorted by nodes, front end, method order)."""
    rank = {m: i for i, m in enumerate(order)}
    lines = ["## Update methods: the pack against the manual procedure "
             "(bench/bench_methods.py)", "", *EXPLAIN, "",
             f"Run: {ran or describe_run(rows)}. This is a shared 2-CPU machine: "
             f"{labs_beside(rows)}; load averages (1 min) before manual / before pack / "
             "after the sample's last side are in the last column, one triple per sample "
             "(`*`: the --max-load guard gave up waiting for a quiet machine); absolute "
             "times (wall, overhead) move with load, the probe's outage figures less.",
             "",
             "Goals (issue 8), judged on the medians: `ratio` ✓ when both ratios of "
             "medians (failed time, longest outage), as shown to two decimals, are ≤ 1.0; "
             "`zero` (methods 2 and 3) ✓ only when the pack's failed time is 0 in every "
             "sample; overhead < 5 % (`run ovh` judges the median in-run overhead %, "
             "`CLI ovh` the median CLI overhead %).",
             "", HEADER]
    for r in sorted(rows, key=lambda r: (r["nodes"], r["frontend"], rank.get(r["method"], 99),
                                         r.get("pack_args") or [])):
        lines.append(render_row(r))
    return "\n".join(lines)
