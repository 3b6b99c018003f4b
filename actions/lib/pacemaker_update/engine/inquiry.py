"""core.ask for the embedded runner: prompt, auto-approve, or pause until answered.

Like st2's inquiry: the task waits (PENDING, the workflow pauses) until a
response valid against the ask's schema arrives; the action then succeeds with
``{schema, roles, users, route, ttl, response}`` and the workflow branches on
``result().response``. On a TTY the CLI prompts; ``--yes`` answers every
boolean with true; otherwise ``resume RUN --respond JSON`` answers later.
"""

import copy
from typing import Any, Callable, Dict, Mapping, Optional

import jsonschema

from pacemaker_update.errors import InvalidInputError

Prompt = Callable[[Dict[str, Any], str], Optional[Dict[str, Any]]]


def response_schema(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """A standard JSON schema from an inquiry schema using st2's property-level ``required``."""
    out = copy.deepcopy(dict(schema))
    required = list(out.get("required") or []) if isinstance(out.get("required"), list) else []
    for name, prop in (out.get("properties") or {}).items():
        if isinstance(prop, dict) and isinstance(prop.get("required"), bool) and prop.pop(
            "required"
        ):
            required.append(name)
    if required:
        out["required"] = sorted(set(required))
    return out


def validate_response(schema: Mapping[str, Any], response: Any) -> Dict[str, Any]:
    """The response if it satisfies the inquiry schema, else ``InvalidInputError``."""
    if not isinstance(response, dict):
        raise InvalidInputError("An inquiry response must be a JSON object")
    errors = [
        e.message for e in jsonschema.Draft4Validator(response_schema(schema)).iter_errors(response)
    ]
    if errors:
        raise InvalidInputError(
            "Response does not match the inquiry schema: {}".format("; ".join(errors)),
            details={"errors": errors},
        )
    return response


def auto_response(schema: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """What ``--yes`` answers: every boolean true; None if a non-boolean is required."""
    fixed = response_schema(schema)
    answer: Dict[str, Any] = {}
    for name, prop in (fixed.get("properties") or {}).items():
        if isinstance(prop, dict) and prop.get("type") == "boolean":
            answer[name] = True
    for name in fixed.get("required") or []:
        if name not in answer:
            return None
    return answer


def ask_result(params: Mapping[str, Any], response: Dict[str, Any]) -> Dict[str, Any]:
    """core.ask's result shape in st2."""
    return {
        "schema": params.get("schema"),
        "roles": params.get("roles", []),
        "users": params.get("users", []),
        "route": params.get("route", ""),
        "ttl": params.get("ttl"),
        "response": response,
    }


def handle_inquiry(engine: Any, driver: Any, flight: Any, resumed: bool = False) -> None:
    """Answer a core.ask now (prompt, --yes, --respond) or leave its task pending."""
    params = engine.registry.resolve("core.ask").validate(flight.params, engine.config)
    response = None
    if resumed and engine.pending_response is not None:
        response = validate_response(params["schema"], engine.pending_response)
        engine.pending_response = None
    elif not resumed and engine.auto_approve:
        response = auto_response(params["schema"])
    elif not resumed and engine.prompt is not None:
        response = engine.prompt(params["schema"], flight.task_id)
        if response is not None:
            response = validate_response(params["schema"], response)
    if response is not None:
        driver.complete(flight, "succeeded", ask_result(params, response))
        return
    if not resumed:
        driver.update(flight, "pending")
        driver.store.finish_task(flight.seq, status="pending")
        driver.save()
        driver.emit(
            "inquiry",
            flight,
            status="pending",
            message=(
                "waiting for a response; answer with: pacemaker-update resume "
                f"{driver.root_id} --respond "
                "'{\"approved\": true}'"
            ),
        )
