"""Which points a crash campaign invocation tries (bench/reliability_campaign.py choose):
--untried leaves out every point an earlier trial of --out killed (survived or FAILED), a mid
point whatever half-duration that invocation's reference run measured, and keeps the rest in
run order; a missed or ended-early trial killed nothing, so its point stays to be tried.
(The real proof is the campaign on the lab; this checks the choice over point labels.)"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "bench", ROOT / "lab", ROOT / "tests" / "lab"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import reliability_campaign as rc  # noqa: E402
from crash_doc import tried_ids  # noqa: E402

REFERENCE = [rc.Point("rolling_standby", "standby", 1, 0.0, "server2"),
             rc.Point("rolling_standby", "standby", 1, 1.3, "server2"),
             rc.Point("rolling_standby", "update", 1, 0.0, "server2"),
             rc.Point("rolling_standby", "update", 1, 3.4, "server2"),
             rc.Point("rolling_standby", "online", 1, 0.0, "server2"),
             rc.Point("rolling_standby", "update", 2, 0.0, "server1")]


def trial(point: str, outcome: str, method: str = "rolling_standby") -> Dict[str, Any]:
    """A line of the campaign's --out."""
    return {"method": method, "point": point, "outcome": outcome}


def args(stride: int = 1, offset: int = 0, max_points: int = 0) -> argparse.Namespace:
    return argparse.Namespace(stride=stride, offset=offset, max_points=max_points)


def labels(points: List[rc.Point]) -> List[str]:
    return [p.label for p in points]


def test_untried_leaves_out_tried_points_mid_whatever_its_half_duration() -> None:
    earlier = [trial("standby#1 (server2) start", "survived"),
               trial("update#1 (server2) mid +2.9s", "FAILED"),  # 3.4 s in this reference
               trial("online#1 (server2) start", "missed"),  # killed nothing
               trial("update#2 (server1) start", "ended-early"),
               trial("update#1 (server2) start", "survived", method="stack_update")]
    tried = tried_ids(earlier, "rolling_standby")
    assert labels(rc.choose(REFERENCE, args(), tried)) == [
        "standby#1 (server2) mid +1.3s", "update#1 (server2) start",
        "online#1 (server2) start", "update#2 (server1) start"]


def test_without_untried_every_strided_point_is_chosen() -> None:
    everything = [trial(p.label, "survived") for p in REFERENCE]
    assert rc.choose(REFERENCE, args(stride=2, offset=1)) == REFERENCE[1::2]
    assert rc.choose(REFERENCE, args(), tried_ids(everything, "rolling_standby")) == []


def test_max_points_applies_after_leaving_out_the_tried() -> None:
    tried = tried_ids([trial("standby#1 (server2) start", "survived")], "rolling_standby")
    assert rc.choose(REFERENCE, args(max_points=2), tried) == REFERENCE[1:3]
