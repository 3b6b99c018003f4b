"""The argparse tree of ``pacemaker-update`` (every option and its help text)."""

import argparse
from typing import Any

DESCRIPTION = """\
Run the pack's workflows without StackStorm, and watch clusters.

Exit codes: 0 succeeded, 1 failed, 2 usage or invalid input (nothing ran), 3 paused,
4 canceled. --json prints one JSON document on stdout (progress goes to stderr);
`watch --json` prints one JSON object per line. Runs live in a SQLite file under
--state-dir."""

RUN_EPILOG = """\
failover watch: a workflow with a `cluster` parameter (update_cluster, the method
workflows) runs with the failover watcher of that cluster beside it (crm_mon every
--watch-interval seconds; with --listen also the alert agent's POSTs). An unexpected
failover (a move, stop or failure nobody recorded as expected) pauses the run after its
running action(s): exit 3, and the event is printed, put in the --json output as
`pause_cause` and kept in the run's record (`show RUN --json`). --no-watch disables it.

--window "Sat 02:00/2h [Europe/Berlin]": refuse to start outside that window (exit 2,
saying when it next opens); the workflow gets window_enforced=true and window=TEXT when it
declares those parameters, so each node step is checked against the same window.

--from-ticket FILE: a change-ticket payload (docs/TICKETING.md). It is validated, its
change id is claimed in the run store (a second run with the same change id is refused,
exit 2), update_cluster starts with its parameters, and the callback URL is told
`accepted`, then the final status (or `paused`) with the report."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", help="where the run store lives (default $XDG_STATE_HOME/pacemaker_update)"
    )
    parser.add_argument("--pack-dir", help="pack to run (default: the installed pack)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _sub(sub: Any, name: str, text: str, epilog: str = "") -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=text,
        description=text,
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    return parser


def _run_options(parser: argparse.ArgumentParser, optional_workflow: bool = False) -> None:
    parser.add_argument(
        "workflow",
        nargs="?" if optional_workflow else None,
        help="workflow action name (update_cluster) or full ref"
        + (" (omit with --from-ticket)" if optional_workflow else ""),
    )
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


def _watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-watch",
        action="store_true",
        help="do not run the failover watcher beside the run",
    )
    parser.add_argument(
        "--watch-interval",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds between the watcher's crm_mon polls (default 2)",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="also take the alert agent's POSTs on HOST:PORT (port 0: any free port)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of the CLI."""
    parser = argparse.ArgumentParser(
        prog="pacemaker-update",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = _sub(sub, "run", "run a workflow", RUN_EPILOG)
    _run_options(run, optional_workflow=True)
    _watch_options(run)
    run.add_argument(
        "--window",
        metavar="'DAYS HH:MM/DUR [TZ]'",
        help="maintenance window, e.g. 'Sat 02:00/2h Europe/Berlin': refuse to start outside",
    )
    run.add_argument(
        "--from-ticket",
        metavar="FILE",
        help="start update_cluster from a change-ticket payload (JSON; '-' reads stdin)",
    )
    _run_options(_sub(sub, "plan", "dry run: the same with dry_run=true, printing the plan"))
    status = _sub(sub, "status", "active runs, or one run")
    status.add_argument("run", nargs="?")
    _sub(sub, "history", "recent runs").add_argument("--limit", type=int, default=20)
    show = _sub(sub, "show", "a run with every task and result")
    show.add_argument("run")
    for one_run in (status, show):
        one_run.add_argument(
            "--cluster-now",
            action="store_true",
            help="for a cluster run that stopped before its end, also read where every node "
            "is now (crm_mon over SSH, read-only) and put it in the output as cluster_now",
        )
        one_run.add_argument("--config", metavar="PATH", help="pack config YAML")
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
    resume.add_argument("--force", action="store_true",
                        help="resume even a run whose service the watcher recovered on the "
                             "node under update (it may take that node out of service)")
    _watch_options(resume)
    watch = _sub(
        sub,
        "watch",
        "follow a cluster: print every event (expected or not) until Ctrl-C",
        "One line per event: time, kind, resource@node, expected/UNEXPECTED, message\n"
        "(--json: one JSON object per line). Expected = recorded in the run store's\n"
        "expected-moves ledger (--state-dir) by a running update.",
    )
    watch.add_argument("--cluster", required=True, help="cluster name in the config")
    watch.add_argument("--config", metavar="PATH", help="pack config YAML")
    watch.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="seconds between polls"
    )
    watch.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="take the alert agent's POSTs on HOST:PORT (port 0: any free port)",
    )
    return parser
