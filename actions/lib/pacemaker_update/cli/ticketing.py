"""``run --from-ticket FILE``: a change ticket starts update_cluster in this process.

The same steps as the st2 path (chatops.intake): validate the payload, claim its change id
in the run store (RunStoreLedger: one SQLite write transaction, so two processes cannot
both claim it), start the run, tell the callback URL ``accepted``, and when the run ends or
pauses, its status and report. The run id is mapped to the change id in the store, so a
later ``resume`` of the run tells the ticket too.
"""

import argparse
import json
import sys
from typing import Any, Dict, Optional

from pacemaker_update.cli.common import EXIT_USAGE, emit, make_engine
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError

UPDATE_WORKFLOW = "update_cluster"
STATUS_FOR_TICKET = {"pausing": "paused", "canceling": "canceled", "timeout": "failed",
                     "abandoned": "failed"}


def ticket_status(result: Any) -> str:
    """What the ticket is told: the run's status, unless the update stopped early."""
    from pacemaker_update.chatops.intake import ticket_status_of
    status = str(STATUS_FOR_TICKET.get(result.status, result.status))
    output = result.output if isinstance(result.output, dict) else {}
    return ticket_status_of(status, output.get("report"))


def read_payload(path: str) -> Any:
    """The ticket JSON from a file ('-' = stdin); INVALID_TICKET when unreadable."""
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"--from-ticket {path}: {exc}", code="INVALID_TICKET",
                                details={"field": "(payload)"}) from exc


def _check_args(args: argparse.Namespace) -> None:
    if args.workflow not in (None, UPDATE_WORKFLOW, "pacemaker_update." + UPDATE_WORKFLOW):
        raise InvalidInputError(f"--from-ticket starts {UPDATE_WORKFLOW}, not {args.workflow}")
    if args.param or args.params_json or args.cluster:
        raise InvalidInputError("--from-ticket takes the parameters from the ticket: "
                                "no --param, --params-json or --cluster")


def cmd_run_ticket(args: argparse.Namespace) -> int:
    """Validate, claim, run (watched), and call the ticket back; exit like ``run``."""
    from pacemaker_update.chatops.intake import EXECUTION_PREFIX, start_from_ticket
    from pacemaker_update.cli.running import (
        add_window_params,
        check_window_open,
        drive_watched,
        summary,
    )
    from pacemaker_update.ticket import RunStoreLedger

    _check_args(args)
    payload = read_payload(args.from_ticket)
    engine = make_engine(args)
    ledger = RunStoreLedger(engine.store)
    started: Dict[str, Any] = {}

    def starter(params: Dict[str, Any]) -> str:
        params = dict(params)
        if args.window:
            add_window_params(engine, UPDATE_WORKFLOW, params, args.window)
        engine.prepare(UPDATE_WORKFLOW, params)  # refused input: the ticket is told why
        if args.window:
            check_window_open(args.window)
        started.update(params=params, run_id=engine.new_run_id())
        return str(started["run_id"])

    ok, out = start_from_ticket(payload, ledger, starter)
    if not ok:
        error = out.get("error") or {}
        raise PacemakerUpdateError(error.get("message", "ticket refused"),
                                   code=error.get("code", "INVALID_TICKET"),
                                   details=error.get("details") or {})
    if out["data"].get("duplicate"):
        return _refuse_duplicate(args, out["data"]["record"])
    run_id = started["run_id"]
    change_id = payload["change_id"]
    engine.store.kv_set(EXECUTION_PREFIX + run_id, change_id)
    _note(f"ticket {change_id}: accepted, run {run_id}; callback "
          + _delivery_text(out["data"].get("callback")))
    result = drive_watched(engine, args, UPDATE_WORKFLOW, started["params"], run_id)
    data = result.to_dict()
    data["ticket"] = notify_if_ticket(engine, result) or {"change_id": change_id}
    emit(args, data, summary(result))
    return int(result.exit_code)


def _refuse_duplicate(args: argparse.Namespace, record: Dict[str, Any]) -> int:
    message = (f"change {record.get('change_id')} was already received (run "
               f"{record.get('execution_id')}, {record.get('status')}): nothing started")
    if args.json:
        emit(args, {"error": {"code": "TICKET_DUPLICATE", "message": message,
                              "details": {"record": record}}}, "")
    sys.stderr.write(f"pacemaker-update: {message}\n")
    return EXIT_USAGE


def _delivery_text(delivery: Optional[Dict[str, Any]]) -> str:
    if not delivery:
        return "not sent"
    if delivery.get("delivered"):
        return "delivered"
    return "NOT delivered: {}".format((delivery.get("error") or {}).get("message"))


def _note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def notify_if_ticket(engine: Any, result: Any) -> Optional[Dict[str, Any]]:
    """If a ticket started this run, POST its status and report; what was sent."""
    from pacemaker_update.chatops.intake import EXECUTION_PREFIX, notify_ticket
    from pacemaker_update.ticket import RunStoreLedger

    change_id = engine.store.kv_get(EXECUTION_PREFIX + result.run_id)
    if not change_id:
        return None
    status = ticket_status(result)
    output = result.output if isinstance(result.output, dict) else {}
    message = f"update {status} (run {result.run_id})"
    if status != STATUS_FOR_TICKET.get(result.status, result.status):
        message += " - stopped early: " + str(output["report"].get("status"))
    if result.pause_cause:
        message += ": " + str(result.pause_cause.get("message", ""))
    ok, out = notify_ticket(RunStoreLedger(engine.store), change_id, status,
                            output.get("report"), result.run_id, message)
    _note(f"ticket {change_id}: told {status}, callback "
          + _delivery_text((out.get("data") or {}).get("callback")))
    return {"change_id": change_id, "status": status, "delivered": ok}
