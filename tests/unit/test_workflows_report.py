"""Every method workflow's report: assembled by the render_report action, the same in YAQL.

The method workflows hand their context's parts to the real render_report action
(actions/render_report.py), which assembles the `report` output in Python; if that action
fails, their `report_fallback` task builds the report in YAQL. Each scenario runs twice
through the real orquesta conductor, once with the action working and once with it
crashing, and a user must get the same report either way (times aside), with the run's
outcome unchanged and a Markdown line that says the rendering failed.
"""

from typing import Any, Dict

import pytest
from test_workflows_driver import FakeCluster, load_metadata, rehearse

METHODS = ["full_stop_update", "rolling_cluster_maintenance", "rolling_node_maintenance",
           "rolling_stack_update", "rolling_standby"]
TWO = ["server2", "server1"]
TIMES = {"started", "ended"}

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "success": {"status": "succeeded"},
    "dry_run": {"inputs": {"dry_run": True}, "status": "succeeded"},
    "failback": {"inputs": {"failback": "original"}, "status": "succeeded"},
    "update_fails": {"fake": {"fail_at": ("update_packages", "server1")}, "status": "failed"},
    "denied": {"inputs": {"approve": "each_node"}, "fake": {"answers": [False]},
               "status": "denied"},
    "window_closed": {"inputs": {"window_enforced": True, "window": "sat 01:00-05:00"},
                      "fake": {"window_refuse_at": 0}, "status": "window_closed"},
}


def applies(method: str, scenario: str) -> bool:
    """Whether the method takes every input the scenario gives (failback: not all do)."""
    params = load_metadata(method).get("parameters") or {}
    return set(SCENARIOS[scenario].get("inputs", {})) <= set(params)


CASES = [(m, s) for m in METHODS for s in sorted(SCENARIOS) if applies(m, s)]


def without_times(value: Any) -> Any:
    """The report with clock readings blanked (two runs never share them)."""
    if isinstance(value, dict):
        return {k: (None if k in TIMES or k == "step_seconds" else without_times(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def rehearse_twice(method: str, scenario: Dict[str, Any]) -> Any:
    runs = []
    for render_fails in (False, True):
        fake = FakeCluster(TWO, render_fails=render_fails, **scenario.get("fake", {}))
        inputs = {"cluster": "lab", "all_packages": True, **scenario.get("inputs", {})}
        runs.append(rehearse(method, inputs, fake))
    return runs


@pytest.mark.parametrize("method,scenario", CASES)
def test_the_report_is_the_same_whether_the_action_or_the_yaql_fallback_built_it(
        method: str, scenario: str) -> None:
    assembled, fallback = rehearse_twice(method, SCENARIOS[scenario])
    assert assembled.status == fallback.status
    report = assembled.output["report"]
    assert report["status"] == SCENARIOS[scenario]["status"] and report["nodes"]
    assert without_times(report) == without_times(fallback.output["report"])
    assert fallback.output["report"]["status"] == report["status"]
    assert "could not be rendered" in fallback.output["report_markdown"]
    assert "could not be rendered" not in assembled.output["report_markdown"]
    assert assembled.output["report_markdown"].startswith(f"**{report['method']} on lab: ")


def test_every_method_is_checked_in_every_scenario_it_takes() -> None:
    assert len(CASES) >= 27  # 5 methods x 5 scenarios, failback where the method has it
    assert {m for m, _ in CASES} == set(METHODS)
