"""A change ticket's life: validate, claim its change id, start the update, call back.

Used by the start_from_ticket / notify_callback actions (st2 datastore ledger, st2 API
starter) and by ``pacemaker-update run --from-ticket`` (run-store ledger, engine starter).
A ``starter`` is ``callable(update_parameters) -> execution id``; a ``poster`` is
``callable(url, payload) -> dict`` (:func:`pacemaker_update.ticket.post_callback`).
"""

import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from pacemaker_update.chatops.report import build_report, render_markdown
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError
from pacemaker_update.ticket import (
    CallbackError,
    TicketRequest,
    build_callback_payload,
    post_callback,
    validate_ticket,
)

Starter = Callable[[Dict[str, Any]], str]
Poster = Callable[[str, Mapping[str, Any]], Dict[str, Any]]
EXECUTION_PREFIX = "pacemaker_update.ticket_execution."
FINAL = {"succeeded": "succeeded", "failed": "failed", "timeout": "failed",
         "abandoned": "failed", "canceled": "canceled", "paused": "paused",
         "running": "running"}
# A workflow that stops cleanly before the work is done still "succeeds" as an execution;
# the report's own status says why it stopped, and a ticket must never read "succeeded".
REPORT_STATUS_FOR_TICKET = {"window_closed": "paused", "approval_expired": "paused",
                            "denied": "canceled"}


def ticket_status_of(status: str, report: Optional[Mapping[str, Any]] = None) -> str:
    """What a ticket is told: the execution's status, unless the report says it stopped early."""
    told = FINAL.get(status, status)
    if told == "succeeded" and isinstance(report, Mapping):
        return REPORT_STATUS_FOR_TICKET.get(str(report.get("status")), told)
    return told


def _tell(poster: Poster, ticket: TicketRequest, status: str, message: str,
          execution_id: Optional[str] = None, report: Optional[Mapping[str, Any]] = None
          ) -> Dict[str, Any]:
    payload = build_callback_payload(
        ticket, status, message, execution_id, build_report(report) if report else None,
        render_markdown(report, execution_id) if report else None)
    try:
        return poster(ticket.callback_url, payload)
    except CallbackError as exc:
        return {"delivered": False, "error": exc.to_dict()}


def start_from_ticket(payload: Any, ledger: Any, starter: Starter,
                      poster: Poster = post_callback) -> Tuple[bool, Dict[str, Any]]:
    """Validate → claim change id → start → tell the ticket. Same change id = no new update."""
    out: Dict[str, Any] = {"ok": False, "data": {}, "warnings": [], "error": None}
    try:
        ticket = validate_ticket(payload)
    except InvalidInputError as exc:
        out["error"] = exc.to_dict()
        return False, out
    echo: Dict[str, Any] = dict(vars(ticket), packages=list(ticket.packages))
    record = {"change_id": ticket.change_id, "status": "accepted", "cluster": ticket.cluster,
              "callback_url": ticket.callback_url, "requester": ticket.requester,
              "accepted_at": time.time(), "execution_id": None, "ticket": echo}
    existing = ledger.claim(ticket.change_id, record)
    if existing is not None:
        out.update(ok=True, data={"duplicate": True, "record": existing})
        out["warnings"].append(f"change {ticket.change_id} was already received "
                               f"(execution {existing.get('execution_id')}); nothing started")
        return True, out
    try:
        execution_id = starter(ticket.update_parameters())
    except PacemakerUpdateError as exc:
        ledger.put(ticket.change_id, dict(record, status="rejected", error=exc.to_dict()))
        _tell(poster, ticket, "rejected", exc.message)
        out["error"] = exc.to_dict()
        return False, out
    ledger.put(ticket.change_id, dict(record, status="running", execution_id=execution_id))
    if hasattr(ledger, "put_execution"):
        ledger.put_execution(execution_id, ticket.change_id)
    delivery = _tell(poster, ticket, "accepted",
                     f"update of {ticket.cluster} ({ticket.method}) started", execution_id)
    if not delivery.get("delivered"):
        out["warnings"].append(f"callback not delivered: {delivery.get('error')}")
    out.update(ok=True, data={"duplicate": False, "execution_id": execution_id,
                              "parameters": ticket.update_parameters(), "callback": delivery})
    return True, out


def notify_ticket(ledger: Any, change_id: str, status: str,
                  report: Optional[Mapping[str, Any]] = None,
                  execution_id: Optional[str] = None, message: str = "",
                  poster: Poster = post_callback) -> Tuple[bool, Dict[str, Any]]:
    """POST a status change (and the report) to the ticket of ``change_id``; record it."""
    record = ledger.get(change_id)
    if record is None:
        return False, {"ok": False, "data": {}, "error": {
            "code": "UNKNOWN_TICKET", "message": f"no ticket with change id {change_id!r}",
            "details": {"change_id": change_id}}}
    ticket = validate_ticket(record["ticket"])
    status = ticket_status_of(status, report)
    delivery = _tell(poster, ticket, status, message or f"update {status}",
                     execution_id or record.get("execution_id"), report)
    ledger.put(change_id, dict(record, status=status, notified_at=time.time(),
                               last_callback=delivery))
    ok = bool(delivery.get("delivered"))
    return ok, {"ok": ok, "data": {"change_id": change_id, "status": status,
                                   "callback": delivery},
                "error": None if ok else delivery.get("error")}
