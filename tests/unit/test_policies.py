"""Policies and rules of this front door, checked against st2's API models (v3.9):
PolicyAPI / RuleAPI keys (st2common/models/api/policy.py, rule.py), the parameters of the
action.concurrency.attr policy type (st2common/policies/concurrency_by_attr.py: threshold,
action delay|cancel, attributes), core trigger types and their parameters
(st2common/constants/triggers.py: core.st2.webhook {url}, core.st2.CronTimer = APScheduler
cron fields), criteria operators (st2common/operators.py) and that every referenced
action and parameter exists."""

import re
from pathlib import Path

import pytest
import yaml
from pacemaker_update.window import cron_timer_parameters

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
RULES = [ROOT / "rules" / "ticket_webhook.yaml"] + sorted(
    (ROOT / "rules").glob("maintenance_window_*.yaml"))
POLICY_KEYS = {"id", "uid", "name", "ref", "pack", "description", "enabled", "resource_ref",
               "policy_type", "parameters", "metadata_file"}
RULE_KEYS = {"id", "ref", "uid", "name", "pack", "description", "type", "trigger", "criteria",
             "action", "enabled", "tags", "context", "metadata_file"}
TRIGGER_PARAMS = {"core.st2.webhook": {"url"},
                  "core.st2.CronTimer": {"timezone", "year", "month", "day", "week",
                                         "day_of_week", "hour", "minute", "second"}}
OPERATORS = {"equals", "nequals", "lessthan", "greaterthan", "matchregex", "regex", "iequals",
             "contains", "icontains", "ncontains", "incontains", "startswith", "istartswith",
             "endswith", "iendswith", "timediff_lt", "timediff_gt", "exists", "nexists",
             "inside", "ninside", "search", "matchwildcard"}


def load(path: Path):
    return yaml.safe_load(path.read_text())


def action_params(ref: str):
    path = ROOT / "actions" / (ref.split(".", 1)[1] + ".yaml")
    assert path.exists(), ref
    return load(path).get("parameters") or {}


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_policy_is_a_valid_per_cluster_lock(path):
    policy = load(path)
    assert set(policy) <= POLICY_KEYS and policy["name"] == path.stem
    assert policy["policy_type"] == "action.concurrency.attr"
    params = policy["parameters"]
    assert set(params) == {"action", "threshold", "attributes"}
    assert params["action"] in ("delay", "cancel") and params["threshold"] == 1
    declared = action_params(policy["resource_ref"])
    assert params["attributes"] and set(params["attributes"]) <= set(declared)
    for name in params["attributes"]:  # the attribute must always be given explicitly
        assert declared[name].get("required") is True, name


def test_update_and_rollback_are_locked_per_cluster_with_cancel():
    by_ref = {load(p)["resource_ref"]: load(p)["parameters"] for p in POLICIES}
    for ref in ("pacemaker_update.update_cluster", "pacemaker_update.rollback"):
        assert by_ref[ref] == {"action": "cancel", "threshold": 1, "attributes": ["cluster"]}


@pytest.mark.parametrize("path", RULES, ids=[p.name for p in RULES])
def test_rule_satisfies_st2(path):
    rule = load(path)
    assert set(rule) <= RULE_KEYS and rule["name"] == path.stem
    assert rule["pack"] == "pacemaker_update" and isinstance(rule["enabled"], bool)
    trigger = rule["trigger"]
    assert set(trigger.get("parameters") or {}) <= TRIGGER_PARAMS[trigger["type"]]
    for key, criterion in (rule.get("criteria") or {}).items():
        assert key.startswith("trigger.") and criterion["type"] in OPERATORS
    params = action_params(rule["action"]["ref"])
    given = rule["action"].get("parameters") or {}
    assert set(given) <= set(params)
    assert {n for n, s in params.items() if s.get("required")} <= set(given) or \
        rule["action"]["ref"].endswith("start_scheduled_update")


def test_ticket_webhook_passes_body_and_change_id():
    rule = load(ROOT / "rules/ticket_webhook.yaml")
    assert rule["trigger"]["parameters"] == {"url": "pacemaker_update_ticket"}
    assert rule["action"]["parameters"]["payload"] == "{{ trigger.body }}"
    assert rule["action"]["parameters"]["change_id"] == "{{ trigger.body.change_id }}"


def test_example_window_rule_is_what_the_window_translates_to():
    rule = load(ROOT / "rules/maintenance_window_example.yaml")
    window = {"start": "0 2 * * sat", "duration_minutes": 120, "timezone": "Europe/Berlin"}
    assert rule["trigger"]["parameters"] == cron_timer_parameters(window)


def test_cron_timer_uses_day_names_because_apscheduler_counts_from_monday():
    params = cron_timer_parameters({"start": "30 22 * * 0,6", "duration_minutes": 60})
    assert params["day_of_week"] == "sun,sat" and not re.search(r"\d", params["day_of_week"])
    with pytest.raises(Exception, match="both day fields"):
        cron_timer_parameters({"start": "0 2 1 * mon", "duration_minutes": 60})
