"""Chat messages → (alias, action, parameters) exactly as StackStorm would dispatch them.

The matcher below re-implements st2's documented alias matching, read from
st2common/st2common/models/utils/action_alias_utils.py (ActionAliasFormatParser, v3.x) and
st2common/st2common/util/actionalias_matching.py (match_command_to_alias, get_matching_alias):
1. trailing ``key=value`` pairs (value: quoted, {...} or one word) are cut off first and
   become extra parameters; 2. the format string IS a regex: ``{{p}}`` becomes a lazy named
   group (optionally quoted), ``{{p=default}}`` an optional one with a default; anchors
   ``^\\s*`` / ``\\s*$`` are added; 3. every representation of every enabled alias is tried
   and more than one match is st2's "matched more than 1 pattern" error. Then
   immutable_parameters are added (overriding one is an error) and st2 casts string
   values to the action's parameter types (st2common/util/casts.py: array/object via JSON,
   else Python literal; boolean via literal of the capitalised word).
"""

import ast
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALIASES = sorted((ROOT / "aliases").glob("*.yaml"))
KEY = r"\s*(\S+?)\s*"
VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(\S+)'
EXT_VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(.+?)'
PAIRS = rf"(?:^|\s+){KEY}=({VALUE})"
ENDING = rf".*?(({PAIRS}\s*)*)$"
OPTIONAL = "{{" + KEY + rf"\s*=\s*(?:{EXT_VALUE})\s*" + "}}"
REQUIRED = "{{" + KEY + "}}"
PARAM = r'\1["\']?(?P<\2>(?:(?<=\').+?(?=\')|(?<=").+?(?=")|{.+?}|.+?))["\']?'


class NoMatch(Exception):
    pass


def extract(fmt: str, command: str) -> Dict[str, Any]:
    """st2's ActionAliasFormatParser.get_extracted_param_value for one format."""
    stream, pairs = command, []
    ending = re.match(ENDING, stream, re.DOTALL)
    if ending and ending.group(1):
        pairs = re.findall(PAIRS, ending.group(1), re.DOTALL)
        stream = stream.replace(ending.group(1), "")
    stream = f" {stream} "
    optional = re.findall(OPTIONAL, fmt, re.DOTALL)
    reg = re.sub(r"(\s*)" + OPTIONAL, r"(?:" + PARAM + r")?", fmt)
    reg = re.sub(r"(\s*)" + REQUIRED, PARAM, reg)
    if not reg.startswith("^"):
        reg = r"^\s*" + reg
    if not reg.endswith("$"):
        reg = reg + r"\s*$"
    matched = re.compile(reg, re.DOTALL).search(stream)
    if not matched:
        raise NoMatch(fmt)
    result = matched.groupdict()
    for param in optional:
        result[param[0]] = result.get(param[0]) or "".join(param[1:])
    for pair in pairs:
        result[pair[0]] = "".join(pair[2:])
    return result


def load(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text())


def representations(alias: Dict[str, Any]) -> List[str]:
    out = []
    for fmt in alias["formats"]:
        out += [fmt] if isinstance(fmt, str) else list(fmt["representation"])
    return out


def cast(value: Any, schema: Dict[str, Any]) -> Any:
    """st2common/util/casts.py for the types our actions use."""
    kind = schema.get("type")
    if not isinstance(value, str) or kind == "string":
        return value
    if kind in ("array", "object"):
        try:
            return json.loads(value)
        except ValueError:
            return ast.literal_eval(value)
    if kind == "boolean":
        return ast.literal_eval(value.capitalize())
    return int(value) if kind == "integer" else value


def dispatch(command: str) -> Tuple[str, str, Dict[str, Any]]:
    """(alias name, action ref, cast parameters) st2 would run for ``command``."""
    matches = [(a, f) for a in map(load, ALIASES) if a.get("enabled", True)
               for f in representations(a) if _matches(f, command)]
    if len(matches) != 1:
        raise NoMatch(f"{command!r} matched {len(matches)} patterns: {matches}")
    alias, fmt = matches[0]
    params = {k: v for k, v in extract(fmt, command).items() if v is not None}
    immutable = alias.get("immutable_parameters") or {}
    if set(immutable) & set(params):
        raise ValueError("Immutable arguments cannot be overriden")
    params.update(immutable)
    action = load(ROOT / "actions" / (alias["action_ref"].split(".", 1)[1] + ".yaml")) \
        if (ROOT / "actions" / (alias["action_ref"].split(".", 1)[1] + ".yaml")).exists() else {}
    schemas = action.get("parameters") or {}
    return alias["name"], alias["action_ref"], {
        k: cast(v, schemas.get(k) or {}) for k, v in params.items()}


def _matches(fmt: str, command: str) -> bool:
    try:
        extract(fmt, command)
    except NoMatch:
        return False
    return True


# The table: every example in docs/CHATOPS.md is here.
TABLE = [
    ("pacemaker plan prod with rolling_standby", "plan_update", "pacemaker_update.update_cluster",
     {"cluster": "prod", "method": "rolling_standby", "dry_run": True}),
    ("pacemaker plan db-2 with node_maintenance all_packages=true", "plan_update",
     "pacemaker_update.update_cluster",
     {"cluster": "db-2", "method": "node_maintenance", "all_packages": True, "dry_run": True}),
    ("pacemaker update prod with rolling_standby", "update_cluster",
     "pacemaker_update.update_cluster", {"cluster": "prod", "method": "rolling_standby"}),
    ('pacemaker update prod with rolling_standby packages=["pacemaker","corosync"] '
     "failback=original approve=each_node", "update_cluster", "pacemaker_update.update_cluster",
     {"cluster": "prod", "method": "rolling_standby", "packages": ["pacemaker", "corosync"],
      "failback": "original", "approve": "each_node"}),
    ("pacemaker update db-2 with stack_update packages=['pacemaker'] approve=before_failover",
     "update_cluster", "pacemaker_update.update_cluster",
     {"cluster": "db-2", "method": "stack_update", "packages": ["pacemaker"],
      "approve": "before_failover"}),
    ("pacemaker update prod with full_stop all_packages=true dry_run=true", "update_cluster",
     "pacemaker_update.update_cluster",
     {"cluster": "prod", "method": "full_stop", "all_packages": True, "dry_run": True}),
    ("pacemaker status prod", "cluster_status", "pacemaker_update.cluster_status",
     {"cluster": "prod"}),
    ("pacemaker progress prod", "update_progress", "pacemaker_update.update_control",
     {"cluster": "prod", "operation": "progress"}),
    ("pacemaker pause prod", "pause_update", "pacemaker_update.pause_update", {"cluster": "prod"}),
    ("pacemaker resume prod", "resume_update", "pacemaker_update.update_control",
     {"cluster": "prod", "operation": "resume"}),
    ("pacemaker cancel prod", "cancel_update", "pacemaker_update.update_control",
     {"cluster": "prod", "operation": "cancel"}),
    ("pacemaker rollback prod", "rollback", "pacemaker_update.rollback", {"cluster": "prod"}),
    ("pacemaker status 'prod'", "cluster_status", "pacemaker_update.cluster_status",
     {"cluster": "prod"}),
]
NO_MATCH = ["pacemaker update prod", "update prod with rolling_standby", "pacemaker",
            "pacemaker plan prod", "Pacemaker status prod", "pacemaker status"]


def test_matcher_reproduces_st2s_own_examples():
    """Cases from st2's test suite (tests/unit/test_action_alias_utils.py) as documented."""
    assert extract("run {{cmd}} on {{hosts}}", "run date on localhost") == {
        "cmd": "date", "hosts": "localhost"}
    assert extract("skip {{a}} more {{b}}", "skip 1 more 2 c=3") == {"a": "1", "b": "2", "c": "3"}
    assert extract("acl {{a=test}}", "acl") == {"a": "test"}
    assert extract("run {{cmd}}", 'run "ls -l"') == {"cmd": "ls -l"}
    with pytest.raises(NoMatch):
        extract("run {{cmd}} on {{hosts}}", "run date")


@pytest.mark.parametrize("command,alias,action,params", TABLE, ids=[t[0] for t in TABLE])
def test_message_dispatches_intended_action(command, alias, action, params):
    assert dispatch(command) == (alias, action, params)


@pytest.mark.parametrize("command", NO_MATCH)
def test_incomplete_or_foreign_messages_match_nothing(command):
    with pytest.raises(NoMatch, match="matched 0 patterns"):
        dispatch(command)


def test_no_message_of_the_table_matches_two_formats():
    formats = [f for a in map(load, ALIASES) for f in representations(a)]
    for command, *_ in TABLE:
        hits = [f for f in formats if _matches(f, command)]
        assert len(hits) == 1, (command, hits)
    # and the formats are pairwise exclusive on their own displays, too
    for fmt in formats:
        sample = re.sub(r"{{\s*(\w+)\s*}}", r"x\1", fmt)
        assert [f for f in formats if _matches(f, sample)] == [fmt]


def test_plan_cannot_be_turned_into_a_real_update():
    with pytest.raises(ValueError, match="Immutable"):
        dispatch("pacemaker plan prod with rolling_standby dry_run=false")


def test_comma_separated_packages_are_refused_by_st2_casting():
    """Documented in CHATOPS.md: packages is an array, st2 casts via JSON / Python literal."""
    with pytest.raises((ValueError, SyntaxError)):
        dispatch("pacemaker update prod with rolling_standby packages=pacemaker,corosync")


# ---------------------------------------------------------------- metadata as st2 loads it

ALIAS_KEYS = {"id", "ref", "uid", "name", "pack", "description", "enabled", "action_ref",
              "formats", "ack", "result", "extra", "immutable_parameters", "metadata_file"}


@pytest.mark.parametrize("path", ALIASES, ids=[p.name for p in ALIASES])
def test_alias_file_satisfies_actionaliasapi_schema(path):
    alias = load(path)
    assert set(alias) <= ALIAS_KEYS
    assert alias["name"] == path.stem and alias["pack"] == "pacemaker_update"
    assert re.match(r"^pacemaker_update\.\w+$", alias["action_ref"])
    assert set(alias.get("ack") or {}) <= {"enabled", "format", "extra", "append_url"}
    assert set(alias.get("result") or {}) <= {"enabled", "format", "extra"}
    for fmt in alias["formats"]:
        assert isinstance(fmt, str) or (set(fmt) <= {"display", "representation"}
                                        and isinstance(fmt["representation"], list))
    action = ROOT / "actions" / (alias["action_ref"].split(".", 1)[1] + ".yaml")
    if alias["action_ref"] != "pacemaker_update.update_control":  # requested, see CHATOPS.md
        assert action.exists(), alias["action_ref"]
        params = load(action).get("parameters") or {}
        for fmt in representations(alias):
            assert set(re.findall(r"{{\s*(\w+)", fmt)) <= set(params)
        assert set(alias.get("immutable_parameters") or {}) <= set(params)


# ---------------------------------------------------------------- templates render in Slack

ENV = jinja2.Environment(undefined=jinja2.Undefined)
REPORT = {"method": "rolling_standby", "cluster": "prod", "dry_run": False,
          "status": "succeeded", "order": ["node2", "node1"],
          "nodes": {"node1": {"changed": True, "steps": [{"step": "standby", "ok": True}]},
                    "node2": {"changed": True, "steps": [{"step": "update", "ok": False}]}}}


def render(template: str, execution: Dict[str, Any]) -> str:
    return ENV.from_string(template).render(execution=execution)


def execution(status: str = "succeeded", report: Any = None) -> Dict[str, Any]:
    return {"id": "65f0c0ffee", "status": status,
            "parameters": {"cluster": "prod", "method": "rolling_standby",
                           "packages": ["pacemaker"], "approve": "each_node"},
            "result": {"output": {"report": report}} if report is not None else {}}


def test_update_ack_says_what_and_how_to_stop():
    text = render(load(ROOT / "aliases/update_cluster.yaml")["ack"]["format"], execution())
    assert "prod" in text and "rolling_standby" in text and "pacemaker" in text
    assert "!pacemaker pause prod" in text and "65f0c0ffee" in text


def test_update_result_has_per_node_table_and_canceled_explanation():
    alias = load(ROOT / "aliases/update_cluster.yaml")
    slack = alias["result"]["extra"]["slack"]
    table = render(slack["text"], execution(report=REPORT))
    lines = table.strip("`").splitlines()
    assert lines[0].split() == ["node", "result", "changed"]
    assert lines[1].split()[:2] == ["node2", "FAILED"] and lines[2].split()[:2] == ["node1", "ok"]
    assert render(slack["color"], execution()) == "good"
    assert render(slack["color"], execution("failed")) == "danger"
    canceled = render(alias["result"]["format"], execution("canceled"))
    assert "one_update_per_cluster" in canceled and "!pacemaker progress prod" in canceled


def test_long_plan_is_trimmed_with_a_pointer_to_the_execution():
    plan = [{"node": f"n{i}", "step": "update", "argv": ["apt-get", "install", "x"]}
            for i in range(100)]
    text = render(load(ROOT / "aliases/plan_update.yaml")["result"]["format"],
                  execution(report=dict(REPORT, plan=plan)))
    assert "100 commands" in text and "60 more" in text and "st2 execution get 65f0c0ffee" in text
    assert text.count("apt-get") == 40
