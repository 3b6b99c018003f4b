"""``pacemaker-update``: run the pack's workflows without StackStorm, and watch clusters.

Commands: run, plan, resume, status, history, show, pause, cancel, watch (``--help`` of
each says more). Exit codes: 0 succeeded, 1 failed, 2 usage or invalid input, 3 paused,
4 canceled. The console script entry point is ``pacemaker_update.cli:main``.
"""

import sys
from typing import List, Optional

from pacemaker_update.cli.common import EXIT_USAGE, emit
from pacemaker_update.cli.parser import build_parser
from pacemaker_update.cli.streams import quiet_std_streams
from pacemaker_update.errors import PacemakerUpdateError

__all__ = ["EXIT_USAGE", "build_parser", "main"]


def _handlers() -> dict:
    from pacemaker_update.cli.inspecting import cmd_control, cmd_inspect
    from pacemaker_update.cli.running import cmd_resume, cmd_run
    from pacemaker_update.cli.watching import cmd_watch

    return {
        "run": cmd_run,
        "plan": lambda a: cmd_run(a, dry_run=True),
        "resume": cmd_resume,
        "status": cmd_inspect,
        "history": cmd_inspect,
        "show": cmd_inspect,
        "pause": cmd_control,
        "cancel": cmd_control,
        "watch": cmd_watch,
    }


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``pacemaker-update`` console script.

    stdout/stderr are wrapped so that a terminal gone away (SSH session dropped: SIGHUP,
    then EIO on every write) never stops a run mid-step: output is dropped from then on.
    """
    args = build_parser().parse_args(argv)
    restore = quiet_std_streams()
    try:
        return int(_handlers()[args.command](args))
    except PacemakerUpdateError as exc:
        if getattr(args, "json", False):
            emit(args, {"error": exc.to_dict()}, "")
        sys.stderr.write(f"pacemaker-update: {exc}\n")
        return EXIT_USAGE if exc.code != "PACEMAKER_UPDATE_ERROR" else 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            restore()
