"""Change tickets that start updates: payload schema, idempotency ledger, callbacks.

A ticketing system (Jira automation, ServiceNow business rule...) POSTs a JSON payload to
st2's webhook ``/api/v1/webhooks/pacemaker_update_ticket`` (or hands the same JSON file to
``pacemaker-update run --from-ticket``). :func:`validate_ticket` checks it with jsonschema
before anything else happens; every error names the field. The change id is the
idempotency key: :class:`DatastoreLedger` (st2 datastore, key
``pacemaker_update.ticket.<change_id>``) and :class:`RunStoreLedger` (the embedded runner's
SQLite kv table, claimed inside one write transaction) record the first claim, and a second
payload with the same change id gets the first one's record back instead of a new update.
:func:`post_callback` reports status changes and the final report back to the ticket's
callback URL: bounded retries with exponential backoff, a timeout per try, no redirects.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import jsonschema

from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError

KEY_PREFIX = "pacemaker_update.ticket."
METHODS = ["full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update"]
STATUSES = ("accepted", "duplicate", "rejected", "running", "paused", "succeeded", "failed",
            "canceled")
TICKET_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["change_id", "cluster", "method", "requester", "callback_url"],
    "properties": {
        "change_id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"},
        "cluster": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"},
        "method": {"type": "string", "enum": METHODS},
        "packages": {"type": "array", "maxItems": 200, "uniqueItems": True,
                     "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9.+_:@~-]*$",
                               "maxLength": 200}},
        "requester": {"type": "string", "minLength": 1, "maxLength": 200},
        "callback_url": {"type": "string", "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s]+$",
                         "maxLength": 2000},
        "failback": {"type": "string", "enum": ["none", "original"]},
        "dry_run": {"type": "boolean"},
        "approve": {"type": "string", "enum": ["none", "each_node", "before_failover"]},
        "ticket": {"type": "object", "description": "free-form ticket context, echoed back"},
    },
}


class CallbackError(PacemakerUpdateError):
    """The callback URL could not be told (after the allowed tries)."""

    code = "CALLBACK_FAILED"


@dataclass(frozen=True)
class TicketRequest:
    """A validated ticket payload."""

    change_id: str
    cluster: str
    method: str
    requester: str
    callback_url: str
    packages: Tuple[str, ...] = ()
    failback: str = "none"
    dry_run: bool = False
    approve: str = "none"
    ticket: Dict[str, Any] = field(default_factory=dict)

    @property
    def ledger_key(self) -> str:
        """Datastore key of this change's idempotency record."""
        return KEY_PREFIX + self.change_id

    def update_parameters(self) -> Dict[str, Any]:
        """Parameters of ``pacemaker_update.update_cluster`` for this ticket."""
        return {"cluster": self.cluster, "method": self.method, "packages": list(self.packages),
                "failback": self.failback, "dry_run": self.dry_run, "approve": self.approve}


def _field_of(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in (error.instance or {})]
        return ".".join(filter(None, [path, missing[0] if missing else ""]))
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ".".join(filter(None, [path, extra[0] if extra else ""]))
    return path or "(payload)"


def _why(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return "is required"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"is not a known field (allowed: {allowed})"
    if error.validator == "enum":
        return f"must be one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern" and error.absolute_path and \
            error.absolute_path[-1] == "callback_url":
        return "must be an http:// or https:// URL"
    return error.message


def validate_ticket(payload: Any) -> TicketRequest:
    """Check a webhook/CLI payload; InvalidInputError INVALID_TICKET names every bad field."""
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InvalidInputError(f"ticket payload is not JSON: {exc}", code="INVALID_TICKET",
                                    details={"field": "(payload)"}) from exc
    errors = sorted(jsonschema.Draft4Validator(TICKET_SCHEMA).iter_errors(payload),
                    key=lambda e: _field_of(e))
    problems = [{"field": _field_of(e), "message": _why(e)} for e in errors]
    if not problems:
        problems = _url_problems(payload["callback_url"])
    if problems:
        first = problems[0]
        raise InvalidInputError(
            f"ticket field {first['field']!r} {first['message']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            code="INVALID_TICKET", details={"field": first["field"], "problems": problems})
    data = dict(payload)
    data["packages"] = tuple(data.get("packages") or ())
    data["ticket"] = dict(data.get("ticket") or {})
    return TicketRequest(**data)


def _url_problems(url: str) -> List[Dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return [{"field": "callback_url", "message": "must be an http:// or https:// URL "
                 "with a host"}]
    if parts.username or parts.password:
        return [{"field": "callback_url", "message": "must not carry credentials in the URL"}]
    return []


# ---------------------------------------------------------------- idempotency ledgers

class DatastoreLedger:
    """Ticket records in the st2 datastore through a python action's ``action_service``.

    st2's datastore has no compare-and-set; the policy ``one_ticket_at_a_time`` serialises
    start_from_ticket per change id so that get-then-set cannot race.
    """

    def __init__(self, action_service: Any) -> None:
        self.service = action_service

    def get(self, change_id: str) -> Optional[Dict[str, Any]]:
        """The record of ``change_id``, or None."""
        raw = self.service.get_value(KEY_PREFIX + change_id, local=False)
        return json.loads(raw) if isinstance(raw, str) and raw else (raw or None)

    def put(self, change_id: str, record: Mapping[str, Any]) -> None:
        """Store the record of ``change_id`` (JSON string, as st2 stores strings)."""
        self.service.set_value(KEY_PREFIX + change_id, json.dumps(dict(record)), local=False)

    def claim(self, change_id: str, record: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        """Store ``record`` unless the change id is known; the existing record if it is."""
        existing = self.get(change_id)
        if existing is not None:
            return existing
        self.put(change_id, record)
        return None


class RunStoreLedger(DatastoreLedger):
    """Ticket records in the embedded runner's kv table; claim is one SQLite transaction."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, change_id: str) -> Optional[Dict[str, Any]]:
        """The record of ``change_id``, or None."""
        value = self.store.kv_get(KEY_PREFIX + change_id)
        return dict(value) if value else None

    def put(self, change_id: str, record: Mapping[str, Any]) -> None:
        """Store the record of ``change_id``."""
        self.store.kv_set(KEY_PREFIX + change_id, dict(record))

    def claim(self, change_id: str, record: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        """Atomic across processes: BEGIN IMMEDIATE holds the write lock for get+set."""
        with self.store.transaction():
            return super().claim(change_id, record)


# ---------------------------------------------------------------- callbacks

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib would turn the POST into a body-less GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def build_callback_payload(ticket: TicketRequest, status: str, message: str = "",
                           execution_id: Optional[str] = None,
                           report: Optional[Mapping[str, Any]] = None,
                           report_markdown: Optional[str] = None) -> Dict[str, Any]:
    """The JSON body POSTed to the callback URL (same shape for every status)."""
    if status not in STATUSES:
        raise InvalidInputError(f"unknown callback status {status!r}", code="INVALID_INPUT",
                                details={"field": "status", "allowed": list(STATUSES)})
    return {"change_id": ticket.change_id, "status": status, "message": message,
            "cluster": ticket.cluster, "method": ticket.method, "dry_run": ticket.dry_run,
            "requester": ticket.requester, "execution_id": execution_id,
            "ticket": ticket.ticket, "report": dict(report) if report else None,
            "report_markdown": report_markdown,
            "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def post_callback(url: str, payload: Mapping[str, Any], attempts: int = 5,
                  timeout: float = 10.0, backoff: float = 1.0, max_backoff: float = 60.0,
                  sleep: Callable[[float], None] = time.sleep) -> Dict[str, Any]:
    """POST ``payload`` as JSON; retry connection errors, timeouts, 429 and 5xx.

    Waits ``backoff * 2**n`` (capped) between tries. A 4xx other than 408/429 is final
    (CALLBACK_REJECTED); running out of tries is CALLBACK_FAILED with every try's outcome.
    """
    problems = _url_problems(url)
    if problems or not 1 <= attempts <= 20 or timeout <= 0:
        raise InvalidInputError(f"bad callback settings for {url!r}", code="INVALID_INPUT",
                                details={"field": "callback_url", "problems": problems})
    body = json.dumps(dict(payload)).encode("utf-8")
    opener = urllib.request.build_opener(_NoRedirect)
    tries: List[str] = []
    for number in range(1, attempts + 1):
        outcome, final = _post_once(opener, url, body, timeout)
        tries.append(outcome)
        if outcome.startswith("HTTP 2"):
            return {"delivered": True, "attempts": number, "tries": tries}
        if final:
            raise CallbackError(f"callback {url} refused the report: {outcome}",
                                code="CALLBACK_REJECTED", details={"url": url, "tries": tries})
        if number < attempts:
            sleep(min(max_backoff, backoff * (2 ** (number - 1))))
    raise CallbackError(f"callback {url} not reached after {attempts} tries: {tries[-1]}",
                        details={"url": url, "tries": tries},
                        hint="the update itself is unaffected; its report is in the execution")


def _post_once(opener: Any, url: str, body: bytes, timeout: float) -> Tuple[str, bool]:
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "User-Agent": "pacemaker_update-callback"})
    try:
        with opener.open(request, timeout=timeout) as response:
            return f"HTTP {response.status}", False
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        return f"HTTP {exc.code}", not retry
    except (urllib.error.URLError, OSError) as exc:
        return f"error: {getattr(exc, 'reason', exc)}", False
