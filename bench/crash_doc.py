"""The <!-- rel:crash --> section of docs/RELIABILITY.md, written by
bench/reliability_campaign.py from its trials (one JSON object per trial, as in its --out
file): per method the points of the reference run, trials, distinct points tried, survived,
failed, missed; how the points were sampled and what fraction of all points that is; every
failure with its run id, the cluster at the kill and after the resume.

With --accumulate the campaign passes every trial of its --out file, so several invocations
(other offsets, other methods) add up; each is listed with its command, commit and times.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- rel:crash -->", "<!-- /rel:crash -->"
METHODS = ("full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update")
METHOD_NO = {"full_stop": 1, "cluster_maintenance": 2, "node_maintenance": 3,
             "rolling_standby": 4, "stack_update": 5}
MARK = {"survived": "✓", "FAILED": "✗", "missed": "·", "ended-early": "!"}


@dataclass
class Sampling:
    """How this invocation chose its points (what the doc says about the sampling)."""

    command: str
    stride: int
    offset: int
    max_points: int
    budget_minutes: float
    mid_threshold: float
    minutes: float = 0.0
    chosen: dict[str, int] = field(default_factory=dict)
    load_at_start: tuple[float, ...] = field(default_factory=os.getloadavg)
    load_at_end: tuple[float, ...] = field(default_factory=os.getloadavg)
    retried: dict[str, str] = field(default_factory=dict)
    untried: bool = False  # --untried: only points no earlier trial of --out tried


def _tried(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in trials if t["outcome"] in ("survived", "FAILED")]


def point_id(label: str) -> str:
    """A point without the measured half-duration of a mid point: `settle#2 mid +1.1s` and
    `settle#2 mid +1.2s` (two invocations' reference runs timed the step differently) are
    the same point."""
    return re.sub(r" mid \+[0-9.]+s$", " mid", label)


def tried_ids(trials: list[dict[str, Any]], method: str) -> set[str]:
    """The point ids (point_id) of `method` that a trial tried (survived or FAILED; a
    missed or ended-early trial did not kill anything)."""
    return {point_id(t["point"]) for t in _tried(trials) if t["method"] == method}



def coverage(trials: list[dict[str, Any]], planned: dict[str, int],
             points: dict[str, list[str]] | None, method: str) -> tuple[int, int]:
    """(points of the latest reference run tried by any invocation, tried points that run
    does not have). Without the reference run's labels (older .meta.json): every distinct
    point tried counts, none is known to be absent."""
    tried = tried_ids(trials, method)
    if points is None or method not in points:
        return min(len(tried), planned.get(method, len(tried))), 0
    ref = {point_id(label) for label in points[method]}
    return len(tried & ref), len(tried - ref)


def count(trials: list[dict[str, Any]], outcome: str) -> int:
    """How many trials ended so."""
    return sum(1 for t in trials if t["outcome"] == outcome)


def _fmt_load(values: tuple[float, ...]) -> str:
    return "/".join(f"{x:.1f}" for x in values)


def intro_lines(s: Sampling) -> list[str]:
    """What a trial is and when it counts as survived."""
    return [START, "## Crash anywhere (bench/reliability_campaign.py)", "",
            "The runner (`pacemaker-update run update_cluster`, its failover watcher on "
            "unless the row says otherwise, 2 nodes, crmsh, failback none) is SIGKILLed with "
            "its process group at an injection point; `pacemaker-update resume RUN` in a new "
            "process must finish: rc 0, report succeeded, crm_mon healthy (all online, no "
            "standby/maintenance, maintenance-mode off, no failures, service group together, "
            "nothing unmanaged), every package at the newest version on every node and "
            "changed once. Points: the start of every action task of an uninterrupted "
            "reference run (*boundary*) and half-way through every action that took >= "
            f"{s.mid_threshold:g} s (*mid*). Each trial: `lab reset` of the same lab, one "
            "run killed at its point, one resume.", ""]


def sampling_lines(trials: list[dict[str, Any]], planned: dict[str, int], s: Sampling,
                   points: dict[str, list[str]] | None = None) -> list[str]:
    """What fraction of all points was sampled, how, and by which invocations."""
    total = sum(planned.values())
    covered = [coverage(trials, planned, points, m) for m in planned]
    distinct = sum(c[0] for c in covered)
    others = sum(c[1] for c in covered)
    how = (f"every {s.stride}th point of each method's run-ordered list from index "
           f"{s.offset % s.stride}" if s.stride > 1 else "every point")
    if s.untried:
        how += (" not tried by an earlier trial of its --out (a mid point whatever its "
                "half-duration)")
    if s.max_points:
        how += f", at most {s.max_points} per method"
    pct = f"{100 * distinct / total:.0f} %" if total else "-"
    invocations: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        invocations.setdefault(t.get("invocation") or "(not recorded)", []).append(t)
    elsewhere = (f" (and {others} tried points these reference runs do not have: an "
                 "earlier invocation's reference run had them)" if others else "")
    lines = [f"Sampled: **{distinct} distinct points of the {total}** of the latest "
             f"reference runs ({pct}){elsewhere}, {len(_tried(trials))} trials (a mid point "
             "counts once whatever half-duration a reference run measured for it). This "
             "invocation "
             f"(`{s.command}`) chose {how} ({sum(s.chosen.values())} points), tried "
             "round-robin across the methods so that a budget running out leaves every "
             f"method sampled about evenly; {s.minutes:.0f} min of lab time including one "
             f"reference run per method; load average (1/5/15 min) "
             f"{_fmt_load(s.load_at_start)} at its start, {_fmt_load(s.load_at_end)} at "
             "its end (2 CPUs shared with other people's labs). Points not listed below "
             "were not tried: this is a sample, not the whole space.", "",
             "Invocations counted here:", ""]
    for command, mine in invocations.items():
        ats = sorted(t.get("at") or "" for t in mine)
        commit = sorted({re.sub(r"^([0-9a-f]{7})[0-9a-f]{33}$", r"\1", t.get("commit") or "?")
                         for t in mine})
        lines.append(f"- `{command}` (commit {', '.join(commit)}, {ats[0]} – {ats[-1]}, "
                     f"{len(mine)} trials)")
    return lines


def table_lines(trials: list[dict[str, Any]], planned: dict[str, int],
                broken: dict[str, str], points: dict[str, list[str]] | None = None,
                ) -> list[str]:
    """One row per method."""
    lines = ["", "| method | points in reference run | trials | distinct points tried "
             "(of the reference run's) |"
             " survived | failed | missed (run passed the point first) | run failed before "
             "its point (nothing killed) | out of service at "
             "kill (standby / maintenance / maintenance-mode / crm_mon unreadable) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for method in METHODS:
        mine = [t for t in trials if t["method"] == method]
        if method not in planned and not mine:
            continue
        tried = _tried(mine)
        ok = [t for t in tried if t["outcome"] == "survived"]
        off = sum(1 for t in mine if not t.get("watcher", True))
        label = method if not off else (f"{method} (watcher off)" if off == len(mine)
                                         else f"{method} (watcher off in {off})")
        out = " / ".join(str(sum(1 for t in tried if k in t["at_kill"] and (
            t["at_kill"][k] or k == "error"))) for k in (
                "standby", "maintenance", "maintenance_mode", "error"))
        ref, other = coverage(trials, planned, points, method)
        share = (f" ({100 * ref / planned[method]:.0f} %)" if planned.get(method) else "")
        share += f" + {other} not in it" if other else ""
        lines.append(f"| {METHOD_NO[method]} {label} | {planned.get(method, '-')} | "
                     f"{len(tried)} | {ref}{share} | {len(ok)} | "
                     f"{len(tried) - len(ok)} | {count(mine, 'missed')} | "
                     f"{count(mine, 'ended-early')} | {out} |")
    for method, why in broken.items():
        lines.append(f"| {METHOD_NO[method]} {method} | - | 0 | 0 | 0 | 0 | 0 | 0 | nothing "
                     f"injected: {why.replace('|', '/')[:300]} |")
    return lines


def detail_lines(trials: list[dict[str, Any]], s: Sampling) -> list[str]:
    """The points tried per method, watcher retries, and every failure in full."""
    lines = ["", "Points tried (✓ survived, ✗ failed, · missed, ! run failed before it):", ""]
    for method in METHODS:
        mine = [t for t in trials if t["method"] == method]
        if mine:
            lines.append(f"- {method}: " + ", ".join(
                f"{MARK.get(t['outcome'], '?')} `{t['point']}`" for t in mine))
    for method, why in s.retried.items():
        lines += ["", f"Reference run of {method} failed (uninterrupted, nothing killed): "
                  f"{why.replace('|', '/')[:1500]}"]
    failed = [t for t in trials if t["outcome"] in ("FAILED", "ended-early")]
    lines += ["", f"Failures ({len(failed)}):" if failed else "No failures."]
    for t in failed:
        text = "; ".join(t["problems"])[:900].replace("\n", " ").replace("|", "/")
        lines.append(f"- {t['outcome']}: {t['method']} at `{t['point']}`, run `{t.get('run_id')}` "
                     f"({t.get('at') or '?'}; task {t['task_status_at_kill']} at kill): "
                     f"crm_mon at kill {json.dumps(t['at_kill'])}, after resume "
                     f"{json.dumps(t.get('after') or {})}; {text}")
    return lines


def write_section(trials: list[dict[str, Any]], planned: dict[str, int], s: Sampling,
                  broken: dict[str, str], notes: list[str] | None = None,
                  doc: Path | None = None, points: dict[str, list[str]] | None = None,
                  ) -> None:
    """Create or replace only the rel:crash section of docs/RELIABILITY.md (or `doc`).
    `points`: the labels of the latest reference runs' points per method (coverage is
    counted against them when given)."""
    doc = doc or DOC
    lines = (intro_lines(s) + sampling_lines(trials, planned, s, points)
             + table_lines(trials, planned, broken, points) + detail_lines(trials, s))
    if notes:
        lines += [""] + notes
    lines.append(END)
    section = "\n".join(lines)
    text = doc.read_text() if doc.exists() else "# Reliability\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    doc.write_text(text)


def load_trials(path: Path) -> list[dict[str, Any]]:
    """Every trial recorded in a campaign's --out file (JSON lines)."""
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
