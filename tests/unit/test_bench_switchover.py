"""The bench:switchover statistics and table (bench/bench_switchover.py) on fixed samples:
medians, the permutation test, the coin (agent's 1 s sleep) counted and kept apart, failed
samples left out but shown, the section inserted after bench:methods. No time is asserted:
the real figures come from the lab run of the benchmark."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_switchover as bs  # noqa: E402


def rec(side: str, failed: float, gap: float, slept: bool, ok: bool = True,
        frontend: str = "crmsh") -> Dict[str, Any]:
    return {"side": side, "frontend": frontend, "ok": ok, "failed_time": failed,
            "gap": gap if ok else None, "slept": slept if ok else None}


def records() -> List[Dict[str, Any]]:
    return [rec("manual", 0.60, 0.30, False), rec("pack", 0.65, 0.28, False),
            rec("manual", 1.60, 0.40, True), rec("pack", 0.60, 0.32, False),
            rec("manual", 0.70, 0.20, False), rec("pack", 1.65, 0.30, True),
            rec("pack", 0.0, 0.0, False, ok=False)]


def test_identical_sides_give_p_one_and_separated_sides_a_small_p() -> None:
    assert bs.permutation_p([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    low = bs.permutation_p([0.1] * 10, [1.0] * 10)
    assert low is not None and low < 0.001
    assert bs.permutation_p([], [1.0]) is None


def test_permutation_p_is_reproducible_and_two_sided() -> None:
    a, b = [0.6, 0.7, 1.6, 0.6], [0.65, 1.6, 1.7, 0.6]
    assert bs.permutation_p(a, b) == bs.permutation_p(a, b)
    forward, backward = bs.permutation_p(a, b), bs.permutation_p(b, a)
    # the same test either way round (up to the shuffles' sampling error)
    assert forward is not None and backward is not None
    assert abs(forward - backward) < 0.03


def test_failed_samples_are_left_out_and_counted() -> None:
    pack = bs.usable(records(), "pack")
    assert len(pack) == 3
    figs = bs.side_figures(pack)
    assert sorted(figs["failed"]) == [0.60, 0.65, 1.65]
    assert sorted(figs["failed_fast"]) == [0.60, 0.65]


def test_table_shows_medians_ratio_coin_and_failures() -> None:
    text = bs.render_frontend("crmsh", records())
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["| samples (failed, left out)"].startswith(
        "| samples (failed, left out) | 3 (0) | 3 (1) |")
    assert "| with the agent's 1 s sleep | 1 | 1 |" in text
    all_row = rows["| probe failed time, all samples: median / mean"]
    # medians 0.70 (manual) and 0.65 (pack): ratio 0.93
    assert "| 0.700 s / 0.967 s | 0.650 s / 0.967 s | 0.93 |" in all_row
    fast_row = rows["| probe failed time, samples without the sleep: median / mean"]
    assert "| 0.650 s / 0.650 s | 0.625 s / 0.625 s | 0.96 |" in fast_row
    gap_row = rows["| real gap from the logs (web stopped → started elsewhere): median / mean"]
    assert "| 0.300 s / 0.300 s | 0.300 s / 0.300 s | 1.00 |" in gap_row


def test_render_has_run_line_and_one_table_per_frontend() -> None:
    recs = records() + [rec("manual", 0.6, 0.3, False, frontend="pcs"),
                        rec("pack", 0.6, 0.3, False, frontend="pcs")]
    meta = {"date": "2026-11-30 01:00 UTC", "commit": "abc1234", "n": 3, "instance": 3,
            "load_before": 1.2, "load_after": 1.5, "seconds_per_sample": 4.8}
    text = bs.render(meta, recs)
    assert "commit abc1234, 3 samples per side" in text
    assert "load 1.2 before / 1.5 after; 4.8 s per sample" in text
    assert text.index("**crmsh**") < text.index("**pcs**")


def test_section_goes_right_after_bench_methods_and_is_replaced(tmp_path: Path) -> None:
    doc = tmp_path / "B.md"
    doc.write_text("# B\n\n<!-- bench:methods -->\nm\n<!-- /bench:methods -->\n\n"
                   "<!-- bench:runner -->\nr\n<!-- /bench:runner -->\n")
    bs.insert_section("first", doc)
    bs.insert_section("second", doc)
    text = doc.read_text()
    assert text.count("<!-- bench:switchover -->") == 1
    assert "first" not in text
    assert (text.index("<!-- /bench:methods -->") < text.index("second")
            < text.index("<!-- bench:runner -->"))
