"""``status`` / ``history`` / ``show`` (read the store) and ``pause`` / ``cancel``."""

import argparse
import sys
from typing import Any, Dict, List

from pacemaker_update.cli.common import emit


def cmd_inspect(args: argparse.Namespace) -> int:
    """status / history / show: read the store (safe while a run is going)."""
    from pacemaker_update.engine import RunStore
    from pacemaker_update.engine.display import pause_line, print_run, print_runs

    store = RunStore(args.state_dir)
    if args.command == "history" or (args.command == "status" and not args.run):
        runs = store.list_runs(
            getattr(args, "limit", 20),
            statuses=None
            if args.command == "history"
            else ["requested", "running", "pausing", "paused", "canceling"],
        )
        if args.json:
            emit(args, runs, "")
        else:
            print_runs(runs, sys.stdout)
        return 0
    run = store.get_run(args.run)
    tasks = store.list_tasks(run["id"])
    children = store.child_runs(run["id"])
    data = dict(run, tasks=tasks, children=children, inflight=store.list_inflight(run["id"]))
    steps = run_next_steps(run)
    if steps:
        data["next"] = steps
    if getattr(args, "cluster_now", False):
        data["cluster_now"] = run_cluster_now(run, getattr(args, "config", None))
    if args.json:
        emit(args, data, "")
        return 0
    print_run(run, tasks, sys.stdout, verbose=args.command == "show")
    if run.get("pause_cause") and run["status"] in ("paused", "pausing"):
        sys.stdout.write(pause_line(run["pause_cause"]) + "\n")
    if data.get("cluster_now"):
        from pacemaker_update.cli.running import print_standing

        print_standing(data["cluster_now"], sys.stdout)  # ends with the same next steps
    elif steps:
        sys.stdout.write("next:\n" + "".join(f"  {step}\n" for step in steps))
    for child in children:
        sys.stdout.write("\nsubworkflow:\n")
        print_run(child, store.list_tasks(child["id"]), sys.stdout, args.command == "show")
    return 0


def run_next_steps(run: Dict[str, Any]) -> List[str]:
    """What to run next for a top-level cluster run that stopped before its end (paused or
    failed), as the run's own output said it: so a person who lost that output finds it
    in ``show``/``status`` too. Empty for anything else."""
    from pacemaker_update.cli.running import next_steps

    params: Dict[str, Any] = run["params"] if isinstance(run.get("params"), dict) else {}
    if run.get("parent_id") or run.get("status") not in ("paused", "failed") or \
            not params.get("cluster"):
        return []
    return next_steps(str(run["id"]), params["cluster"], str(run["status"]))


def run_cluster_now(run: Dict[str, Any], config_path: Any) -> Dict[str, Any]:
    """``--cluster-now``: where every node of a stopped cluster run's cluster is now, with
    the same next steps the run printed; a note instead for any other run (nothing read)."""
    from pacemaker_update.cli.running import cluster_standing

    params: Dict[str, Any] = run["params"] if isinstance(run.get("params"), dict) else {}
    if not run_next_steps(run):
        return {"note": "not read: only a cluster update that stopped before its end (paused "
                        "or failed, not a subworkflow) has a cluster standing to show",
                "next": []}
    return cluster_standing(params, config_path, str(run["id"]), str(run["status"]))


def cmd_control(args: argparse.Namespace) -> int:
    """pause / cancel: ask the driving process (or act directly if none lives)."""
    from pacemaker_update.engine import RunStore
    from pacemaker_update.engine.control import request_run

    cause = {"kind": "user", "source": "cli", "message": "pacemaker-update pause"}
    done = request_run(
        RunStore(args.state_dir),
        args.run,
        args.command,
        cause if args.command == "pause" else None,
    )
    emit(
        args,
        {"run": args.run, "action": args.command, "result": done},
        f"{args.command} {args.run}: {done}\n",
    )
    return 0
