"""``pacemaker-update``: run the pack's workflows without StackStorm.

Exit codes: 0 succeeded, 1 failed, 2 usage or invalid input, 3 paused,
4 canceled. ``--json`` prints one JSON document on stdout (progress goes to
stderr). Runs live in a SQLite file under ``--state-dir``.
"""

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

import yaml

from pacemaker_update.errors import PacemakerUpdateError

EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", help="where the run store lives (default $XDG_STATE_HOME/pacemaker_update)"
    )
    parser.add_argument("--pack-dir", help="pack to run (default: the installed pack)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow action name (update_cluster) or full ref")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="workflow parameter (cast to its declared type); repeatable",
    )
    parser.add_argument(
        "--params-json",
        metavar="FILE",
        help="parameters as a JSON object ('-' reads stdin); --param overrides",
    )
    parser.add_argument("--cluster", help="shorthand for --param cluster=NAME")
    parser.add_argument("--config", metavar="PATH", help="pack config YAML")
    parser.add_argument("--yes", action="store_true", help="approve every inquiry (core.ask)")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of the CLI."""
    parser = argparse.ArgumentParser(prog="pacemaker-update", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, text in (
        ("run", "run a workflow"),
        ("plan", "dry run: the same with dry_run=true, printing the plan"),
    ):
        _run_options(_sub(sub, name, text))
    _sub(sub, "status", "active runs, or one run").add_argument("run", nargs="?")
    _sub(sub, "history", "recent runs").add_argument("--limit", type=int, default=20)
    _sub(sub, "show", "a run with every task and result").add_argument("run")
    _sub(sub, "pause", "pause a run after its running action(s)").add_argument("run")
    _sub(sub, "cancel", "cancel a run after its running action(s)").add_argument("run")
    resume = _sub(sub, "resume", "continue a paused or interrupted run")
    resume.add_argument("run")
    resume.add_argument("--respond", metavar="JSON", help="answer to a pending inquiry")
    resume.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="secret parameters of the run, given again",
    )
    resume.add_argument("--config", metavar="PATH", help="pack config YAML")
    resume.add_argument("--yes", action="store_true", help="approve every inquiry")
    _sub(sub, "watch", "follow the cluster (not implemented yet)")
    return parser


def _sub(sub: Any, name: str, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    _common(parser)
    return parser


def _load_config(path: Optional[str]) -> Dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PacemakerUpdateError(
            f"Cannot read config {path}: {exc}", code="CONFIG_INVALID"
        ) from exc
    if not isinstance(data, dict):
        raise PacemakerUpdateError(f"Config {path} is not a mapping", code="CONFIG_INVALID")
    return data


def _make_engine(args: argparse.Namespace) -> Any:
    from pacemaker_update.engine import Engine
    from pacemaker_update.engine.display import make_renderer, tty_prompt

    interactive = sys.stdin.isatty() and sys.stderr.isatty() and not args.json
    return Engine(
        pack_dir=args.pack_dir,
        state_dir=args.state_dir,
        config=_load_config(getattr(args, "config", None)),
        on_event=make_renderer(sys.stderr),
        auto_approve=getattr(args, "yes", False),
        prompt=tty_prompt if interactive else None,
    )


def _collect_params(engine: Any, args: argparse.Namespace, dry_run: bool) -> Dict[str, Any]:
    from pacemaker_update.engine.params import cast_cli_value
    from pacemaker_update.errors import InvalidInputError

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
    params.update(_parse_pairs(spec.parameters, args.param, cast_cli_value))
    if args.cluster:
        params["cluster"] = args.cluster
    if dry_run:
        if "dry_run" not in spec.parameters:
            raise InvalidInputError(f"{spec.ref} has no dry_run parameter: cannot plan it")
        params["dry_run"] = True
    return params


def _parse_pairs(declared: Dict[str, Any], pairs: List[str], cast: Any) -> Dict[str, Any]:
    from pacemaker_update.errors import InvalidInputError

    out: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--param wants K=V, got {pair!r}")
        out[key] = cast(declared, key, value)
    return out


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    sys.stdout.write(
        (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n") if args.json else text
    )


def cmd_run(args: argparse.Namespace, dry_run: bool = False) -> int:
    """run / plan: drive a workflow to rest and print its result."""
    from pacemaker_update.engine.display import PLAN_RENDERERS

    engine = _make_engine(args)
    params = _collect_params(engine, args, dry_run)
    engine.prepare(args.workflow, params)  # every check before anything runs
    engine.install_signal_handlers()
    result = engine.start(args.workflow, params)
    renderer = PLAN_RENDERERS.get(result.workflow) if dry_run else None
    if renderer is not None and not args.json:
        renderer(result.to_dict(), sys.stdout)
    else:
        _emit(args, result.to_dict(), _summary(result))
    return int(result.exit_code)


def _summary(result: Any) -> str:
    output = json.dumps(result.output, indent=2, sort_keys=True)
    text = f"run {result.run_id} {result.status}\noutput: {output}\n"
    if result.status == "paused":
        text += f"resume with: pacemaker-update resume {result.run_id}\n"
    if result.errors and result.status != "succeeded":
        text += f"errors: {json.dumps(result.errors, indent=2)[:4000]}\n"
    return text


def cmd_resume(args: argparse.Namespace) -> int:
    """resume: continue a run here, optionally answering its inquiry."""
    from pacemaker_update.engine.params import cast_cli_value
    from pacemaker_update.errors import InvalidInputError

    engine = _make_engine(args)
    respond = None
    if args.respond:
        try:
            respond = json.loads(args.respond)
        except ValueError as exc:
            raise InvalidInputError(f"--respond is not JSON: {exc}") from exc
    secrets = _parse_pairs({}, args.param, cast_cli_value)
    engine.install_signal_handlers()
    result = engine.resume(args.run, respond=respond, secrets=secrets)
    _emit(args, result.to_dict(), _summary(result))
    return int(result.exit_code)


def cmd_inspect(args: argparse.Namespace) -> int:
    """status / history / show: read the store (safe while a run is going)."""
    from pacemaker_update.engine import RunStore
    from pacemaker_update.engine.display import print_run, print_runs

    store = RunStore(args.state_dir)
    if args.command == "history" or (args.command == "status" and not args.run):
        runs = store.list_runs(
            getattr(args, "limit", 20),
            statuses=None
            if args.command == "history"
            else ["requested", "running", "pausing", "paused", "canceling"],
        )
        if args.json:
            _emit(args, runs, "")
        else:
            print_runs(runs, sys.stdout)
        return 0
    run = store.get_run(args.run)
    tasks = store.list_tasks(run["id"])
    children = store.child_runs(run["id"])
    data = dict(run, tasks=tasks, children=children, inflight=store.list_inflight(run["id"]))
    if args.json:
        _emit(args, data, "")
        return 0
    print_run(run, tasks, sys.stdout, verbose=args.command == "show")
    for child in children:
        sys.stdout.write("\nsubworkflow:\n")
        print_run(child, store.list_tasks(child["id"]), sys.stdout, args.command == "show")
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    """pause / cancel: ask the driving process (or act directly if none lives)."""
    from pacemaker_update.engine import RunStore
    from pacemaker_update.engine.engine import Engine

    engine = Engine.__new__(Engine)  # control needs only the store
    engine.store = RunStore(args.state_dir)
    done = (
        engine.request_pause(args.run)
        if args.command == "pause"
        else engine.request_cancel(args.run)
    )
    _emit(
        args,
        {"run": args.run, "action": args.command, "result": done},
        f"{args.command} {args.run}: {done}\n",
    )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``pacemaker-update`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {
        "run": cmd_run,
        "plan": lambda a: cmd_run(a, dry_run=True),
        "resume": cmd_resume,
        "status": cmd_inspect,
        "history": cmd_inspect,
        "show": cmd_inspect,
        "pause": cmd_control,
        "cancel": cmd_control,
    }
    if args.command == "watch":
        sys.stderr.write("pacemaker-update watch: not implemented yet\n")
        return EXIT_USAGE
    try:
        return int(handlers[args.command](args))
    except PacemakerUpdateError as exc:
        if getattr(args, "json", False):
            _emit(args, {"error": exc.to_dict()}, "")
        sys.stderr.write(f"pacemaker-update: {exc}\n")
        return EXIT_USAGE if exc.code != "PACEMAKER_UPDATE_ERROR" else 1


if __name__ == "__main__":
    sys.exit(main())
