"""The bench:methods table (bench/bench_methods_table.py) over results.json structures:
medians over repeated samples, the failed-time spread, ratios of medians, goals judged on
medians, failed pack runs kept out of the medians but shown, and old single-run rows.
(The real proof is the lab run of bench/bench_methods.py; this checks the arithmetic and
what the reader of docs/BENCHMARKS.md sees.)"""
from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_methods_table as table  # noqa: E402

METHODS = ("full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update")


def side(failed: float, longest: float | None = None, wall: float = 10.0,
         ok: bool = True) -> Dict[str, Any]:
    """One side's record as bench_methods stores it."""
    return {"ok": ok, "wall": wall, "error": None if ok else "waited 180 s for settled",
            "probe": {"failed_time": failed, "requests": 200, "failed": 10,
                      "longest_outage": failed if longest is None else longest,
                      "switchovers": []}}


def pack_side(failed: float, wall: float = 20.0, ok: bool = True, inside: float = 18.0,
              run_pct: float = 4.0, cli_pct: float = 8.0, rc: int = 0,
              codes: List[str] | None = None) -> Dict[str, Any]:
    """The pack's record with its timing."""
    rec = side(failed, wall=wall, ok=ok)
    rec.update(rc=rc, status="succeeded" if ok else "paused", codes=codes or [],
               stderr_tail="", start=1000.0, end=1000.0 + wall,
               timing={"total": wall, "inside_actions": inside, "delays": 0.0,
                       "overhead": wall * cli_pct / 100, "overhead_pct": cli_pct,
                       "run_overhead": wall * run_pct / 100, "run_overhead_pct": run_pct,
                       "before_first_task": 0.7})
    return rec


def sample(manual: Dict[str, Any], pack: Dict[str, Any], minute: int = 10,
           guard: str | None = None) -> Dict[str, Any]:
    """One sample of a new-format row."""
    return {"date": f"2026-11-30T00:{minute:02d}", "order": ["manual", "pack"],
            "load": [0.8, 0.9, 1.0], "other_labs": [], "commit": "abc1234",
            "load_guard": guard, "manual": manual, "pack": pack}


def row(method: str, samples: List[Dict[str, Any]], nodes: int = 2,
        frontend: str = "crmsh") -> Dict[str, Any]:
    """A results.json row with samples."""
    return {"nodes": nodes, "frontend": frontend, "method": method, "pack_args": [],
            "repeat": len(samples), "samples": samples}


def cells(line: str) -> List[str]:
    """The table line's cells, stripped."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


COLUMNS = cells(table.HEADER.splitlines()[0])


def cell(line: str, column: str) -> str:
    """The cell of the named column (header prefix) in a rendered line."""
    index = next(i for i, name in enumerate(COLUMNS) if name.startswith(column))
    return cells(line)[index]


def coin_row() -> Dict[str, Any]:
    """Three samples where each side's switchover lands on 0.6 s or 1.6 s."""
    return row("rolling_standby", [
        sample(side(0.6, wall=5.0), pack_side(1.6, wall=12.0, inside=10.0), 10),
        sample(side(1.6, wall=6.0), pack_side(0.6, wall=11.0, inside=9.0), 11),
        sample(side(0.6, wall=7.0), pack_side(0.6, wall=13.0, inside=11.0), 12)])


def test_medians_spread_and_ratio_of_medians_over_samples() -> None:
    line = table.render_row(coin_row())
    assert cell(line, "samples") == "3"
    assert cell(line, "manual failed") == "0.60 / 0.60 / 6.0"
    assert cell(line, "pack failed") == "0.60 / 0.60 / 12.0"
    # the first sample alone would read 2.67: the medians make it 1.00
    assert cell(line, "ratio failed") == "1.00"
    assert cell(line, "ratio longest") == "1.00"
    assert cell(line, "failed s min–max") == "0.60–1.60 / 0.60–1.60"
    assert cell(line, "pack inside") == "10.0"
    assert "ratio ✓" in cell(line, "goals")
    assert cell(line, "date, load") == ("2026-11-30T00:10–00:12, "
                                        "0.8/0.9/1.0; 0.8/0.9/1.0; 0.8/0.9/1.0")


def test_ratio_goal_fails_when_the_pack_median_is_worse() -> None:
    r = row("stack_update", [sample(side(0.6), pack_side(1.6)) for _ in range(2)]
            + [sample(side(1.6), pack_side(0.6))])
    line = table.render_row(r)
    assert cell(line, "ratio failed") == "2.67"
    assert "ratio ✗" in cell(line, "goals")


def test_ratio_goal_judges_the_longest_outage_too() -> None:
    manual = side(1.2, longest=0.6)
    pack = pack_side(1.0)
    pack["probe"]["longest_outage"] = 1.0
    line = table.render_row(row("stack_update", [sample(manual, pack)]))
    assert cell(line, "ratio failed") == "0.83"
    assert cell(line, "ratio longest") == "1.67"
    assert "ratio ✗" in cell(line, "goals")


def test_zero_goal_holds_only_when_every_sample_had_no_interruption() -> None:
    r = row("cluster_maintenance", [sample(side(0.0), pack_side(0.0)),
                                    sample(side(0.0), pack_side(0.0)),
                                    sample(side(0.0), pack_side(0.55))])
    line = table.render_row(r)
    assert cell(line, "pack failed").startswith("0.00 / ")   # the median hides it...
    assert "zero ✗ (1/3)" in cell(line, "goals")             # ...the goal does not
    r["samples"][2]["pack"]["probe"].update(failed_time=0.0, longest_outage=0.0)
    assert "zero ✓" in cell(table.render_row(r), "goals")


def test_a_failed_pack_sample_is_shown_and_left_out_of_the_medians() -> None:
    r = coin_row()
    r["samples"][1]["pack"] = pack_side(9.0, ok=False, rc=3,
                                        codes=["paused: unexpected_failover (x)"])
    line = table.render_row(r)
    assert cell(line, "samples") == "2/3"
    assert cell(line, "pack result") == "**failed** 1/3 rc 3 paused: unexpected_failover (x)"
    # medians of samples 1 and 3 only: pack 1.6 and 0.6, manual 0.6 and 0.6
    assert cell(line, "pack failed").startswith("1.10 / ")
    assert cell(line, "failed s min–max") == "0.60 / 0.60–1.60"


def test_zero_goal_counts_the_interruption_of_a_failed_pack_run() -> None:
    r = row("node_maintenance", [sample(side(0.6), pack_side(0.0)),
                                 sample(side(0.6), pack_side(0.6, ok=False, rc=1))])
    assert "zero ✗ (1/2)" in cell(table.render_row(r), "goals")


def test_no_complete_sample_has_no_ratio_and_no_ratio_goal() -> None:
    r = row("full_stop", [sample(side(10.0), pack_side(0.0, ok=False, rc=3))])
    line = table.render_row(r)
    assert cell(line, "samples") == "0/1"
    assert cell(line, "ratio failed") == "–"
    assert cell(line, "pack result") == "**failed** rc 3 ?"
    assert "ratio" not in cell(line, "goals")


def test_overhead_goals_are_judged_on_the_median_percentage() -> None:
    r = row("rolling_standby", [sample(side(0.6), pack_side(0.6, run_pct=p, cli_pct=c))
                                for p, c in ((3.0, 9.0), (6.0, 4.0), (4.0, 4.5))])
    line = table.render_row(r)
    assert "run ovh ✓" in cell(line, "goals")        # median of 3, 6, 4 = 4 %
    assert "CLI ovh ✓" in cell(line, "goals")        # median of 9, 4, 4.5 = 4.5 %
    assert "(4 %)" in cell(line, "overhead")
    r["samples"][0]["pack"]["timing"]["run_overhead_pct"] = 7.0
    assert "run ovh ✗" in cell(table.render_row(r), "goals")   # median now 6 %


def test_an_old_single_run_row_renders_like_a_one_sample_row() -> None:
    new = row("rolling_standby", [sample(side(0.6), pack_side(1.6))])
    old = {k: v for k, v in new.items() if k not in ("samples", "repeat")}
    old.update({k: copy.deepcopy(v) for k, v in new["samples"][0].items()
                if k in ("date", "load", "other_labs", "manual", "pack")})
    assert table.render_row(old) == table.render_row(new)
    assert cell(table.render_row(old), "ratio failed") == "2.67"


def test_load_guard_that_gave_up_is_marked() -> None:
    r = coin_row()
    r["samples"][1]["load_guard"] = "gave up"
    assert cell(table.render_row(r), "date, load").endswith(
        "0.8/0.9/1.0; 0.8/0.9/1.0*; 0.8/0.9/1.0")


def test_render_sorts_rows_and_says_what_the_medians_are() -> None:
    rows = [row("stack_update", [sample(side(0.6), pack_side(0.6))], nodes=3),
            coin_row(),
            row("full_stop", [sample(side(10.0), pack_side(12.0))], frontend="pcs"),
            row("full_stop", [sample(side(10.0), pack_side(12.0))])]
    body = table.render(rows, "", METHODS)
    lines = [x for x in body.splitlines() if x.startswith("| 2 ") or x.startswith("| 3 ")]
    assert [tuple(cells(x)[:3]) for x in lines] == [
        ("2", "crmsh", "full_stop"), ("2", "crmsh", "rolling_standby"),
        ("2", "pcs", "full_stop"), ("3", "crmsh", "stack_update")]
    assert "is the median, over the row's complete samples" in body
    assert "commit abc1234" in body and "1/3 sample(s) per row" in body


def test_time_inside_actions_counts_concurrent_actions_once() -> None:
    # method 1's per-node updates run at once: 2 nodes x 0.4 s side by side are 0.4 s of the
    # run, not 0.8 s (counting them twice made the runner's overhead negative)
    assert table.union_seconds([(10.0, 10.4), (10.1, 10.5), (12.0, 13.0)]) == pytest.approx(1.5)
    assert table.union_seconds([(1.0, 5.0), (2.0, 3.0)]) == pytest.approx(4.0)
    assert table.union_seconds([]) == 0.0
