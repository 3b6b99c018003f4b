"""``run`` / ``plan`` / ``resume``: drive a workflow to rest, watched, in its window."""

import argparse
import datetime as dt
import json
import sys
from typing import Any, Dict, List, Optional, TextIO

from pacemaker_update.cli.common import emit, load_cluster, make_engine, parse_listen, parse_pairs
from pacemaker_update.errors import InvalidInputError


def collect_params(engine: Any, args: argparse.Namespace, dry_run: bool) -> Dict[str, Any]:
    """Workflow parameters from --params-json, --param and --cluster (cast, not validated)."""
    from pacemaker_update.engine.params import cast_cli_value

    spec = engine.registry.resolve(args.workflow)
    params: Dict[str, Any] = {}
    if args.params_json:
        try:
            if args.params_json == "-":
                params.update(json.load(sys.stdin))
            else:
                with open(args.params_json) as handle:
                    params.update(json.load(handle))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"--params-json: {exc}") from exc
    params.update(parse_pairs(spec.parameters, args.param, cast_cli_value))
    if args.cluster:
        params["cluster"] = args.cluster
    if dry_run:
        if "dry_run" not in spec.parameters:
            raise InvalidInputError(f"{spec.ref} has no dry_run parameter: cannot plan it")
        params["dry_run"] = True
    return params


def add_window_params(engine: Any, workflow: str, params: Dict[str, Any], text: str) -> None:
    """Give the workflow window_enforced=true and the window, where it declares them."""
    declared = engine.registry.resolve(workflow).parameters
    if "window_enforced" in declared:
        params["window_enforced"] = True
    if "window" in declared:
        params["window"] = text  # check_maintenance_window takes the --window text itself
    if "window_enforced" not in declared and "window" not in declared:
        sys.stderr.write(
            "note: the workflow takes no window parameters: only its start is checked\n"
        )


def check_window_open(text: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """Refuse (OUTSIDE_WINDOW, exit 2) unless the --window is open now; the open span."""
    from pacemaker_update.window import (
        WindowError,
        next_window,
        parse_window,
        parse_window_flag,
        window_at,
    )

    spec = parse_window(parse_window_flag(text))
    clock = now or dt.datetime.now(dt.timezone.utc)
    span = window_at([spec], clock)
    if span is not None:
        return span.to_dict()
    upcoming = next_window([spec], clock)
    opens = (
        f"the next window opens at {upcoming.local_start.isoformat()} ({upcoming.timezone})"
        if upcoming
        else "no later window can open"
    )
    raise WindowError(
        f"outside the maintenance window {text!r}: {opens}; nothing was started",
        code="OUTSIDE_WINDOW",
        details={"window": text, "next_window": upcoming.to_dict() if upcoming else None},
        hint="run again inside the window, or without --window",
    )


def start_watcher(engine: Any, args: argparse.Namespace, workflow: str, params: Dict,
                  run_id: str) -> Any:
    """The failover watcher beside a run of a workflow with a ``cluster`` (or None)."""
    from pacemaker_update.cli.watching import RunWatcher

    spec = engine.registry.resolve(workflow)
    if args.no_watch or "cluster" not in spec.parameters or params.get("dry_run"):
        return None
    if not args.watch_interval > 0:
        raise InvalidInputError(
            f"--watch-interval must be > 0 seconds, got {args.watch_interval}",
            code="INVALID_INTERVAL",
        )
    cluster = load_cluster(str(params.get("cluster")), getattr(args, "config", None))
    watcher = RunWatcher(engine, cluster, run_id, args.watch_interval, parse_listen(args.listen))
    return watcher.start()


def drive_watched(engine: Any, args: argparse.Namespace, workflow: str,
                  params: Dict[str, Any], run_id: Optional[str] = None) -> Any:
    """Start a run (id chosen beforehand or now) with its failover watcher; the RunResult."""
    run_id = run_id or engine.new_run_id()
    watcher = start_watcher(engine, args, workflow, params, run_id)
    try:
        engine.install_signal_handlers()
        result = engine.start(workflow, params, run_id=run_id)
    finally:
        if watcher is not None:
            watcher.stop()
    return _with_cause(engine, watcher, result)


def _with_cause(engine: Any, watcher: Any, result: Any) -> Any:
    from pacemaker_update.engine import RunResult

    if watcher is None or not watcher.pending:
        return result
    watcher.record_cause(engine.store)
    return RunResult.from_run(engine.store.get_run(result.run_id))


def summary(result: Any) -> str:
    """The text a person reads at the end of a run."""
    from pacemaker_update.engine.display import pause_line

    output = json.dumps(result.output, indent=2, sort_keys=True)
    text = f"run {result.run_id} {result.status}\noutput: {output}\n"
    if result.status in ("paused", "pausing"):
        cause = result.pause_cause
        if cause:
            text += pause_line(cause) + "\n"
            if cause.get("event"):
                text += "event: {}\n".format(json.dumps(cause["event"], sort_keys=True))
        recovery = (cause or {}).get("recovery") or {}
        if recovery.get("action") == "online":
            # the node left to run the service alone must not be taken out for its update
            text += (f"the service was recovered on {recovery.get('node')}; do not resume: "
                     f"pacemaker-update cancel {result.run_id}, then start a new update once "
                     "the lost node is back\n")
        else:
            text += f"resume with: pacemaker-update resume {result.run_id}\n"
    if result.errors and result.status != "succeeded":
        text += f"errors: {json.dumps(result.errors, indent=2)[:4000]}\n"
    return text


def check_names(params: Dict[str, Any], config_path: Optional[str]) -> None:
    """The names a run will put on cluster command lines (cluster, packages, services),
    refused with InvalidInputError (exit 2) before anything connects to a node."""
    from pacemaker_update.validate import (
        validate_node_name,
        validate_package_name,
        validate_unit_name,
    )

    if "cluster" not in params:
        return
    validate_node_name(params["cluster"], field="cluster")  # a config key: same safe alphabet
    if not (params.get("packages") or params.get("restart_services")):
        return
    cluster = load_cluster(str(params["cluster"]), config_path)
    manager = getattr(cluster, "package_manager", "auto")
    for name in params.get("packages") or []:
        if manager in ("yum", "dnf", "zypper", "apt"):
            validate_package_name(name, manager, field="packages")
            continue
        try:  # auto: the node's manager is probed later; the name must suit rpm or dpkg
            validate_package_name(name, "yum", field="packages")
        except InvalidInputError:
            validate_package_name(name, "apt", field="packages")
    for unit in params.get("restart_services") or []:
        validate_unit_name(unit, field="restart_services")


def next_steps(run_id: str, cluster: Any, status: str) -> List[str]:
    """What a person can run next on a run that stopped before its end: a paused or
    interrupted run can be resumed (or canceled, then rolled back); a failed one has ended,
    so only a rollback brings the cluster back (resume would be refused: RUN_FINISHED)."""
    rollback = (f"pacemaker-update run rollback --cluster {cluster}  (back to a safe state: "
                "every node online, maintenance lifted through the exit guard)")
    if status == "failed":
        return [f"{rollback}, after fixing the cause (pacemaker-update show {run_id}: where "
                "it failed)"]
    return [f"pacemaker-update resume {run_id}  (after fixing the cause: continues where it "
            "stopped)", f"pacemaker-update cancel {run_id}; {rollback}"]


def cluster_standing(params: Dict[str, Any], config_path: Optional[str],
                     run_id: str, run_status: str = "paused") -> Dict[str, Any]:
    """Where every node of the run's cluster is NOW (read from crm_mon, read-only) and what
    to do next: printed and put in --json whenever an update stops before its end, so
    nobody has to guess which node was left in standby or maintenance."""
    from pacemaker_update.actionbase import ActionContext
    from pacemaker_update.ops.status import cluster_status

    out: Dict[str, Any] = {"next": next_steps(run_id, params.get("cluster"), run_status)}
    try:
        ctx = ActionContext(load_cluster(str(params["cluster"]), config_path), timeout=30)
        try:
            status = cluster_status(ctx)
        finally:
            ctx.close()
    except Exception as exc:  # noqa: BLE001 - report what we could not read, never crash
        out["error"] = f"could not read the cluster's state: {exc}"
        return out
    nodes = {}
    for node in status["state"]["nodes"]:
        flags = [f for f in ("standby", "maintenance") if node.get(f)]
        nodes[node["name"]] = ("online" if node.get("online") else "OFFLINE") + (
            " + " + " + ".join(flags) if flags else "")
    out.update({"nodes": nodes, "maintenance_mode": status["maintenance_mode"],
                "quorum": status["quorum"], "placement": status["placement"],
                "failed_actions": status["failed_actions"]})
    return out


def print_standing(standing: Dict[str, Any], stream: Optional[TextIO] = None) -> None:
    """The cluster's standing for a person, on stderr (or ``stream``)."""
    lines = ["cluster now:"]
    for node, where in sorted((standing.get("nodes") or {}).items()):
        lines.append(f"  {node}: {where}")
    if standing.get("maintenance_mode"):
        lines.append("  maintenance-mode is ON (resources unmanaged)")
    for key in ("error", "note"):
        if standing.get(key):
            lines.append("  " + str(standing[key]))
    if standing["next"]:
        lines += ["next:"] + ["  " + n for n in standing["next"]]
    (stream or sys.stderr).write("\n".join(lines) + "\n")


def cmd_run(args: argparse.Namespace, dry_run: bool = False) -> int:
    """run / plan: drive a workflow to rest and print its result."""
    from pacemaker_update.engine.display import PLAN_RENDERERS

    if getattr(args, "from_ticket", None):
        from pacemaker_update.cli.ticketing import cmd_run_ticket

        return cmd_run_ticket(args)
    if not args.workflow:
        raise InvalidInputError("run needs a WORKFLOW (or --from-ticket FILE)")
    engine = make_engine(args)
    params = collect_params(engine, args, dry_run)
    check_names(params, getattr(args, "config", None))
    window = getattr(args, "window", None)
    if window:
        add_window_params(engine, args.workflow, params, window)
    engine.prepare(args.workflow, params)  # every check before anything runs
    if window:
        check_window_open(window)
    if dry_run:
        engine.install_signal_handlers()
        result = engine.start(args.workflow, params)
    else:
        result = drive_watched(engine, args, args.workflow, params)
    renderer = PLAN_RENDERERS.get(result.workflow) if dry_run else None
    document = result.to_dict()
    if not dry_run and "cluster" in params and result.status not in ("succeeded", "canceled"):
        document["cluster_now"] = cluster_standing(params, getattr(args, "config", None),
                                                   result.run_id, result.status)
        if not args.json:
            print_standing(document["cluster_now"])
    if renderer is not None and not args.json:
        renderer(document, sys.stdout)
    else:
        emit(args, document, summary(result))
    return int(result.exit_code)


def refuse_recovered(run: Dict[str, Any], force: bool) -> None:
    """RUN_RECOVERED unless ``force``: after an unexpected failover the watcher put the node
    under update back online to run the service alone; resuming would go on with its update."""
    recovery = (run.get("pause_cause") or {}).get("recovery") or {}
    if recovery.get("action") != "online" or force:
        return
    from pacemaker_update.errors import RunStateError
    raise RunStateError(
        f"run {run['id']} was paused by an unexpected failover and the service was recovered "
        f"on {recovery.get('node')}, the node it was updating; resuming would continue that "
        "node's update while it runs the service alone",
        code="RUN_RECOVERED", details={"run": run["id"], "recovery": recovery},
        hint=f"pacemaker-update cancel {run['id']}, bring the lost node back, then start a new "
             "update (or resume with --force if you are sure)")


def cmd_resume(args: argparse.Namespace) -> int:
    """resume: continue a run here (watched again), optionally answering its inquiry."""
    from pacemaker_update.cli.ticketing import notify_if_ticket
    from pacemaker_update.engine.params import cast_cli_value

    engine = make_engine(args)
    respond = None
    if args.respond:
        try:
            respond = json.loads(args.respond)
        except ValueError as exc:
            raise InvalidInputError(f"--respond is not JSON: {exc}") from exc
    secrets = parse_pairs({}, args.param, cast_cli_value)
    run = engine.store.get_run(args.run)
    refuse_recovered(run, args.force)
    watcher = start_watcher(engine, args, run["workflow"], run.get("params") or {}, run["id"])
    try:
        engine.install_signal_handlers()
        result = engine.resume(args.run, respond=respond, secrets=secrets)
    finally:
        if watcher is not None:
            watcher.stop()
    result = _with_cause(engine, watcher, result)
    data = result.to_dict()
    ticket = notify_if_ticket(engine, result)
    if ticket is not None:
        data["ticket"] = ticket
    emit(args, data, summary(result))
    return int(result.exit_code)
