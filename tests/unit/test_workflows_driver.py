"""Rehearsal driver: runs the pack's Orquesta workflows through the REAL orquesta conductor.

Only the actions are doubles (a `FakeCluster` answers them like the pack's python actions
answer: `(ok, envelope)` seen by the workflow as `result().result`); every parameter a
workflow passes is checked against the action's committed metadata (actions/*.yaml): unknown
names, missing required parameters, wrong types and values outside an enum fail the run.
Subworkflows (runner_type orquesta) are run recursively, as StackStorm does.

The tests at the bottom check the driver itself refuses what StackStorm would refuse.
"""

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
import yaml
from helpers.actions import action_class
from pacemaker_update.actionbase import command_trace
from pacemaker_update.engine import compat

compat.apply_fixes()

import orquesta  # noqa: E402
from orquesta import conducting, events, statuses  # noqa: E402
from orquesta.specs import native as native_specs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"
PACK = "pacemaker_update"
ST2_CTX = {"st2": {"action_execution_id": "0" * 24, "user": "tester", "pack": PACK, "api_url": ""}}

# Parameters of the st2 core actions the workflows use (st2/contrib/core/actions/*.yaml).
CORE_PARAMS = {
    "core.ask": {"schema", "roles", "users", "route", "ttl"},
    "core.echo": {"message", "timeout", "cwd", "env", "sudo", "sudo_password", "kwarg_op"},
    "core.noop": set(),
}

TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "array": list,
    "object": dict,
}


class DriverError(AssertionError):
    """A workflow did something StackStorm would refuse (bad parameter, unknown action)."""


_METADATA: Dict[str, Dict[str, Any]] = {}


def load_metadata(name: str) -> Dict[str, Any]:
    """The committed metadata of one pack action (actions/<name>.yaml), read once."""
    if name not in _METADATA:
        path = ACTIONS / f"{name}.yaml"
        if not path.exists():
            raise DriverError(f"unknown action {PACK}.{name}")
        _METADATA[name] = yaml.safe_load(path.read_text())
    return _METADATA[name]


def check_params(ref: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """Validate `params` against the action metadata like st2 does; return them with defaults."""
    if ref in CORE_PARAMS:
        unknown = set(params) - CORE_PARAMS[ref]
        if unknown:
            raise DriverError(f"{ref}: unknown parameters {sorted(unknown)}")
        return dict(params)
    pack, _, name = ref.partition(".")
    if pack != PACK:
        raise DriverError(f"unknown action {ref}")
    schema = load_metadata(name).get("parameters") or {}
    unknown = set(params) - set(schema)
    if unknown:
        raise DriverError(f"{ref}: unknown parameters {sorted(unknown)}")
    full = {}
    for pname, pspec in schema.items():
        if pname in params and params[pname] is not None:
            value = params[pname]
        elif "default" in pspec:
            value = copy.deepcopy(pspec["default"])
        elif pspec.get("required"):
            raise DriverError(f"{ref}: missing required parameter {pname}")
        else:
            continue
        check_value(ref, pname, pspec, value)
        full[pname] = value
    return full


def check_value(ref: str, pname: str, pspec: Dict[str, Any], value: Any) -> None:
    """Type, enum and minimum checks of one parameter value."""
    expected = TYPES.get(pspec.get("type", ""))
    if expected is not None:
        ok = isinstance(value, expected)
        if expected is int and isinstance(value, bool):
            ok = False
        if not ok:
            raise DriverError(f"{ref}: {pname}={value!r} is not a {pspec['type']}")
    if "enum" in pspec and value not in pspec["enum"]:
        raise DriverError(f"{ref}: {pname}={value!r} not in {pspec['enum']}")
    if "minimum" in pspec and isinstance(value, int) and value < pspec["minimum"]:
        raise DriverError(f"{ref}: {pname}={value!r} below {pspec['minimum']}")
    strings = pspec.get("type") == "array" and pspec.get("items", {}).get("type") == "string"
    if strings and not all(isinstance(v, str) for v in value):
        raise DriverError(f"{ref}: {pname} must be a list of strings")


def workflow_text(name: str) -> str:
    """The workflow file a pack action of runner_type orquesta points to."""
    meta = load_metadata(name)
    if meta.get("runner_type") != "orquesta":
        raise DriverError(f"{name} is not an orquesta workflow")
    return (ACTIONS / meta["entry_point"]).read_text()


@dataclass
class Call:
    """One action execution the workflow asked for (parameters exactly as passed)."""

    ref: str
    params: Dict[str, Any]
    depth: int = 0

    @property
    def name(self) -> str:
        return self.ref.split(".", 1)[1]

    def brief(self) -> Tuple[str, ...]:
        """(action, node) or (action,) — the readable sequence tests compare."""
        node = self.params.get("node")
        label = self.name
        if self.name in ("record_expected_moves", "close_expected_moves"):
            return (label, self.params["step"])
        if self.name in ("set_node_standby", "set_node_maintenance", "set_cluster_maintenance"):
            label += "(on)" if self.params.get("enabled") else "(off)"
        if node is None and isinstance(self.params.get("start_nodes"), list):
            node = ",".join(self.params["start_nodes"])
        return (label, node) if node else (label,)


@dataclass
class Run:
    """The outcome of one rehearsed workflow run."""

    status: str
    output: Optional[Dict[str, Any]]
    calls: List[Call] = field(default_factory=list)
    errors: List[Any] = field(default_factory=list)

    @property
    def report(self) -> Dict[str, Any]:
        assert self.output is not None, self.errors
        return self.output["report"]

    def sequence(
        self, include_core: bool = False, bookkeeping: bool = False
    ) -> List[Tuple[str, ...]]:
        """Pack actions called, in order (subworkflow calls themselves left out).

        The ledger, window and report actions are left out unless `bookkeeping`.
        """
        return [
            c.brief()
            for c in self.calls
            if (include_core or c.ref.startswith(PACK + "."))
            and not is_workflow(c.ref)
            and (bookkeeping or c.name not in BOOKKEEPING)
        ]


Responder = Callable[[str, Dict[str, Any]], Tuple[bool, Dict[str, Any]]]


def is_workflow(ref: str) -> bool:
    pack, _, name = ref.partition(".")
    if pack != PACK or not (ACTIONS / f"{name}.yaml").exists():
        return False
    return load_metadata(name).get("runner_type") == "orquesta"


# (sha256 of the workflow text, orquesta version) -> (spec, inspection errors). Inspecting
# the big workflows costs seconds per run under orquesta 1.2.0 and its answer depends only
# on the exact text (and the st2 context's keys, the same for every rehearsal).
_SPECS: Dict[Tuple[str, str], Tuple[Any, Dict[str, Any]]] = {}
ORQUESTA_VERSION = getattr(orquesta, "__version__", "unknown")


def inspected_spec(text: str) -> Tuple[Any, Dict[str, Any]]:
    """The WorkflowSpec of `text` and its inspection errors, inspected once per process."""
    key = (hashlib.sha256(text.encode()).hexdigest(), ORQUESTA_VERSION)
    if key not in _SPECS:
        spec = native_specs.WorkflowSpec(text)
        _SPECS[key] = (spec, spec.inspect(app_ctx=ST2_CTX, raise_exception=False))
    return _SPECS[key]


def inspect_workflow(text: str) -> Dict[str, Any]:
    """Errors orquesta's inspection finds (empty dict = clean)."""
    return inspected_spec(text)[1]


def rehearse(
    name: str,
    inputs: Dict[str, Any],
    responder: Responder,
    context: Optional[Dict[str, Any]] = None,
) -> Run:
    """Run the workflow action `name` with `inputs` (validated like st2 does) to completion.

    `context` replaces the st2 context (e.g. with source_channel/api_user of a chat request).
    """
    calls: List[Call] = []
    status, output, errors = _run(name, inputs, responder, calls, 0, context)
    return Run(status=status, output=output, calls=calls, errors=errors)


def _run(
    name: str,
    inputs: Dict[str, Any],
    responder: Responder,
    calls: List[Call],
    depth: int,
    context: Optional[Dict[str, Any]] = None,
) -> Tuple[str, Optional[Dict[str, Any]], List[Any]]:
    full_inputs = check_params(f"{PACK}.{name}", inputs)
    spec, errors = inspected_spec(workflow_text(name))
    if errors:
        raise DriverError(f"{name} does not inspect cleanly: {errors}")
    conductor = conducting.WorkflowConductor(
        spec, context=copy.deepcopy(context or ST2_CTX), inputs=full_inputs
    )
    conductor.request_workflow_status(statuses.RUNNING)
    for _ in range(1000):
        tasks = conductor.get_next_tasks()
        if not tasks:
            break
        for task in tasks:
            _run_task(conductor, task, responder, calls, depth)
    else:
        raise DriverError(f"{name}: did not finish in 1000 rounds")
    conductor.render_workflow_output()
    return conductor.get_workflow_status(), conductor.get_workflow_output(), conductor.errors


def _run_task(
    conductor: Any, task: Dict[str, Any], responder: Responder, calls: List[Call], depth: int
) -> None:
    if task["spec"].has_items():
        _run_items(conductor, task, responder, calls, depth)
        return
    for action in task["actions"]:
        ref = action["action"]
        running = events.ActionExecutionEvent(statuses.RUNNING)
        conductor.update_task_state(task["id"], task["route"], running)
        if ref is None:  # a task without action: st2 completes it at once
            done = events.ActionExecutionEvent(statuses.SUCCEEDED)
            conductor.update_task_state(task["id"], task["route"], done)
            continue
        params = json.loads(json.dumps(action["input"] or {}))
        check_params(ref, params)
        calls.append(Call(ref, params, depth))
        if is_workflow(ref):
            status, output, errors = _run(
                ref.split(".", 1)[1], params, responder, calls, depth + 1
            )
            result: Dict[str, Any] = {"output": output}
            if errors and status != statuses.SUCCEEDED:
                result["errors"] = errors
            ok = status == statuses.SUCCEEDED
        else:
            ok, result = responder(ref, params)
        final = statuses.SUCCEEDED if ok else statuses.FAILED
        conductor.update_task_state(
            task["id"], task["route"], events.ActionExecutionEvent(final, result=result)
        )


def _run_items(
    conductor: Any, task: Dict[str, Any], responder: Responder, calls: List[Call], depth: int
) -> None:
    """A with-items task as st2 runs it: every item the conductor hands out is started
    (RUNNING) before any of them ends, as concurrent executions are; then each ends in item
    order with the accumulated results so far (None for an item not ended yet)."""
    actions = task["actions"]
    count = task.get("items_count", len(actions))
    if count == 0:  # an empty list: st2 completes the task at once, result []
        for status in (statuses.RUNNING, statuses.SUCCEEDED):
            event = events.ActionExecutionEvent(status, result=[])
            conductor.update_task_state(task["id"], task["route"], event)
        return
    for action in actions:
        running = events.TaskItemActionExecutionEvent(action["item_id"], statuses.RUNNING)
        conductor.update_task_state(task["id"], task["route"], running)
    results: List[Any] = [None] * count
    for action in actions:
        ref, item_id = action["action"], action["item_id"]
        params = json.loads(json.dumps(action["input"] or {}))
        check_params(ref, params)
        calls.append(Call(ref, params, depth))
        if is_workflow(ref):
            raise DriverError("a subworkflow per item is not rehearsed")
        ok, results[item_id] = responder(ref, params)
        event = events.TaskItemActionExecutionEvent(
            item_id, statuses.SUCCEEDED if ok else statuses.FAILED,
            result=results[item_id], accumulated_result=list(results))
        conductor.update_task_state(task["id"], task["route"], event)


# --------------------------------------------------------------------------- fake cluster

# Actions around the steps: expected-moves ledger, maintenance window, report rendering.
BOOKKEEPING = {
    "record_expected_moves",
    "close_expected_moves",
    "check_maintenance_window",
    "render_report",
}

MUTATING = {
    "set_cluster_maintenance",
    "set_node_maintenance",
    "set_node_standby",
    "stop_pacemaker",
    "start_pacemaker",
    "start_cluster",
    "update_packages",
    "restart_services",
    "failover",
    "failback",
}


class FakeCluster:
    """Answers the pack's actions like the python actions answer a healthy cluster.

    `order`/`primary` are what preflight_check and detect_roles report; `fail_at` (action,
    node or None) makes its `fail_nth` matching call fail with a coded error envelope;
    `answers` are the core.ask responses in order (True = approved).
    """

    def __init__(
        self,
        order: List[str],
        primary: Optional[str] = None,
        fail_at: Optional[Tuple[str, Optional[str]]] = None,
        answers: Optional[List[bool]] = None,
        cluster: str = "lab",
        fail_nth: int = 1,
        window_refuse_at: Optional[int] = None,
        as_actionbase: bool = False,
        render_fails: bool = False,
    ) -> None:
        self.order = list(order)
        self.primary = primary if primary is not None else order[-1]
        self.fail_at = fail_at
        self.answers = list(answers or [])
        self.cluster = cluster
        self.fail_nth = fail_nth
        self.matches = 0
        self.asks: List[Dict[str, Any]] = []
        self.window_refuse_at = window_refuse_at  # 0-based index of the refused window check
        self.window_checks: List[Dict[str, Any]] = []
        self.ledger: Dict[str, Dict[str, Any]] = {}  # open entries, as the real store keeps them
        self.holder = self.primary  # where the primary resources run now (preflight says so)
        # as_actionbase: a planned command carries only what actionbase records for it
        # ("planned": true); otherwise also "dry_run": true (what rollback.yaml still reads)
        self.as_actionbase = as_actionbase
        self.render_fails = render_fails  # render_report crashes (the YAQL fallback reports)

    def __call__(self, ref: str, params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
        if ref == "core.ask":
            return self._ask(params)
        if ref in ("core.echo", "core.noop"):
            return True, {
                "stdout": params.get("message", ""),
                "stderr": "",
                "return_code": 0,
                "succeeded": True,
                "failed": False,
            }
        name = ref.split(".", 1)[1]
        if name == "check_maintenance_window":
            return self._window(params)
        if name == "render_report":
            if self.render_fails:  # as st2 reports an action that crashed
                return False, {"result": None, "stdout": "", "exit_code": 1,
                               "stderr": "Traceback ...\nKeyError: 'nodes'"}
            return render_report_result(params)
        envelope = self._envelope(name, params)
        if self._should_fail(name, params):
            envelope["ok"] = False
            envelope["error"] = {
                "code": "NODE_NOT_IN_STANDBY" if name == "set_node_standby" else "ACTION_FAILED",
                "message": f"{name} failed on {params.get('node') or 'the cluster'}",
                "details": {"host": params.get("node"), "rc": 1},
                "hint": "look at crm_mon -rfA1 on the node",
            }
            envelope["state_after"] = {"nodes": {n: "online" for n in self.order}}
            return False, {"result": envelope, "stdout": "", "stderr": "", "exit_code": 1}
        self._book(name, params, envelope)
        self._move(name, params)
        return True, {"result": envelope, "stdout": "", "stderr": "", "exit_code": 0}

    def _move(self, name: str, params: Dict[str, Any]) -> None:
        """Standby of the node holding the primary resources moves them (as Pacemaker does,
        to the first other node); a failback brings them back to the original primary."""
        if params.get("dry_run"):
            return
        if name == "set_node_standby" and params.get("enabled") and params["node"] == self.holder:
            others = [n for n in self.order if n != self.holder]
            self.holder = others[0] if others else self.holder
        elif name == "failback":
            self.holder = self.primary

    def _book(self, name: str, params: Dict[str, Any], envelope: Dict[str, Any]) -> None:
        """Keep the ledger like the real store: open on record, closed on close."""
        entry_id = f"{params.get('run_id')}.{params.get('step')}"
        if name == "record_expected_moves":
            assert entry_id not in self.ledger, f"entry {entry_id} recorded twice"
            self.ledger[entry_id] = dict(params)
            envelope["data"] = {"entry": dict(params, id=entry_id)}
        elif name == "close_expected_moves":
            closed = self.ledger.pop(entry_id, None)
            envelope["data"] = {"closed": closed, "id": entry_id}

    def _window(self, params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
        """check_maintenance_window: allowed, except the `window_refuse_at`-th check."""
        refuse = len(self.window_checks) == self.window_refuse_at and params.get("enforce", True)
        self.window_checks.append(params)
        nxt = {"start": "2030-01-05T02:00:00+01:00", "end": "2030-01-05T04:00:00+01:00"}
        data = {
            "allowed": not refuse,
            "code": "WINDOW_TOO_SHORT" if refuse else "OK",
            "message": "the next node step (1800s + 300s margin) does not fit before 04:00"
            if refuse
            else "inside the window",
            "window": None,
            "next_window": nxt,
            "enforced": params.get("enforce", True),
            "pause_requested": False,
        }
        envelope = {"ok": not refuse, "cluster": params["cluster"], "data": data,
                    "warnings": [], "error": None}
        if refuse:
            envelope["error"] = {"code": "WINDOW_TOO_SHORT", "message": data["message"],
                                 "details": data, "hint": "the update pauses at this node boundary"}
        return not refuse, {"result": envelope, "stdout": "", "stderr": "",
                            "exit_code": 1 if refuse else 0}

    def _should_fail(self, name: str, params: Dict[str, Any]) -> bool:
        if self.fail_at is None:
            return False
        action, node = self.fail_at
        if name != action or (node is not None and params.get("node") != node):
            return False
        self.matches += 1
        return self.matches == self.fail_nth

    def _ask(self, params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
        self.asks.append(params)
        if not self.answers:
            raise DriverError(f"unexpected core.ask: {params['schema'].get('description')}")
        approved = self.answers.pop(0)
        result = dict(params)
        result["response"] = {"approved": approved}
        return True, result

    def _envelope(self, name: str, params: Dict[str, Any]) -> Dict[str, Any]:
        dry = bool(params.get("dry_run")) and name in MUTATING
        node = params.get("node")
        data: Dict[str, Any] = {}
        if name in ("preflight_check", "detect_roles"):
            data = {"order": list(self.order), "primary": self.holder}
        elif name == "snapshot_state":
            data = {"snapshot": {"resources": {"grp": {"node": self.primary, "role": "Started"}}}}
        elif name == "set_node_standby" and params.get("enabled"):
            # as the real action: what ran on the node before (the primary runs grp)
            data = {"node": node, "moved_away": ["grp"] if node == self.holder else []}
        elif name == "check_maintenance_exit":  # safe, re-probed (what leaving may reuse)
            data = {"safe": True, "actions": [], "node": node, "reprobed": True,
                    "cib_version": "0.13.4", "checked_at": 1796000000.0}
        elif name == "update_packages":
            before = {"pkg-a": "1.0-1", "pkg-b": "2.0-1"}
            after = None if dry else {"pkg-a": "1.0-2", "pkg-b": "2.0-1"}
            changed = {} if dry else {"pkg-a": {"before": "1.0-1", "after": "1.0-2"}}
            data = {"node": node, "before": before, "after": after, "changed": changed}
        commands = [
            {
                "host": node or self.order[0],
                "argv": ["crm_mon", "--output-as=xml"],
                "rc": 0,
                "duration": 0.01,
                "dry_run": False,
            }
        ]
        if name in MUTATING and dry:  # as actionbase records a command it only plans
            planned = {"host": node or self.order[0], "argv": [name, str(node)], "planned": True,
                       "sudo": None}
            commands.append(planned if self.as_actionbase else dict(planned, dry_run=True))
        elif name in MUTATING:
            commands.append(
                {
                    "host": node or self.order[0],
                    "argv": [name, str(node)],
                    "rc": 0,
                    "duration": 0.5,
                    "dry_run": False,
                }
            )
        return {
            "ok": True,
            "cluster": params.get("cluster"),
            "dry_run": dry,
            "data": data,
            "commands": commands,
            "trace": command_trace(commands),
            "warnings": [f"{name} warning"] if name == "update_packages" else [],
            "state_after": None,
            "error": None,
        }


def render_report_result(params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
    """The pack's real render_report action (actions/render_report.py), st2's result shape."""
    ok, envelope = action_class("render_report")(config={}).run(**params)
    return ok, {"result": envelope, "stdout": "", "stderr": "", "exit_code": 0 if ok else 1}


# --------------------------------------------------------------------------- driver tests


def test_driver_refuses_unknown_parameter() -> None:
    with pytest.raises(DriverError, match="unknown parameters"):
        check_params(
            "pacemaker_update.set_node_standby",
            {"cluster": "c", "node": "n", "enabled": True, "bogus": 1},
        )


def test_driver_refuses_missing_required_and_bad_enum() -> None:
    with pytest.raises(DriverError, match="missing required parameter enabled"):
        check_params("pacemaker_update.set_node_standby", {"cluster": "c", "node": "n"})
    with pytest.raises(DriverError, match="not in"):
        check_params("pacemaker_update.preflight_check", {"cluster": "c", "method": "yolo"})


def test_driver_applies_metadata_defaults() -> None:
    full = check_params("pacemaker_update.update_packages", {"cluster": "c", "node": "n"})
    assert full["packages"] == [] and full["wait_timeout"] == 540 and full["dry_run"] is False


def test_fake_cluster_fails_the_chosen_call_with_a_coded_envelope() -> None:
    fake = FakeCluster(["s2", "s1"], fail_at=("update_packages", "s1"))
    ok, res = fake("pacemaker_update.update_packages", {"cluster": "lab", "node": "s2"})
    assert ok and res["result"]["ok"]
    ok, res = fake("pacemaker_update.update_packages", {"cluster": "lab", "node": "s1"})
    assert not ok and res["result"]["error"]["code"] == "ACTION_FAILED"
