"""The few StackStorm API calls the reaction actions make (stdlib urllib, with timeouts).

Python actions get ``ST2_ACTION_API_URL`` (e.g. ``http://127.0.0.1:9101/v1``) and
``ST2_ACTION_AUTH_TOKEN`` in their environment; every request carries the token in
``X-Auth-Token``. Calls used:

- ``GET  {api}/executions?action=REF&status=running&limit=N&exclude_attributes=result``
- ``PUT  {api}/executions/ID`` with ``{"status": "pausing"}`` (st2 pauses a workflow)
- ``POST {api}/executions`` with ``{"action": REF, "parameters": {...}}``
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional

from pacemaker_update.errors import PacemakerUpdateError

ENV_URL = "ST2_ACTION_API_URL"
ENV_TOKEN = "ST2_ACTION_AUTH_TOKEN"  # noqa: S105 - the variable's name, not a secret


class St2ApiError(PacemakerUpdateError):
    """The StackStorm API could not be reached or refused a call."""

    code = "ST2_API_ERROR"


class St2Api:
    """A minimal client for the executions endpoints."""

    def __init__(self, base_url: str, token: Optional[str], timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise St2ApiError(f"not an http(s) API URL: {base_url!r}", code="ST2_API_URL_INVALID",
                              hint=f"StackStorm sets {ENV_URL} for python actions")
        self.base = base_url.rstrip("/")
        self.token, self.timeout = token, timeout

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None,
                 timeout: float = 10.0) -> "St2Api":
        """Client from the variables st2 gives python actions; coded error when absent."""
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL)
        if not url:
            raise St2ApiError(f"{ENV_URL} is not set: not running inside StackStorm",
                              code="ST2_API_NOT_CONFIGURED",
                              hint="in the embedded runner use `pacemaker-update pause RUN`")
        return cls(url, env.get(ENV_TOKEN), timeout)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request; the decoded answer, or St2ApiError with the status/reason."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                text = resp.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise St2ApiError(f"st2 API {method} {path} answered {exc.code}: {detail}",
                              code="ST2_API_REFUSED",
                              details={"status": exc.code, "path": path}) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise St2ApiError(f"st2 API at {self.base} is unreachable: {reason}",
                              code="ST2_API_UNREACHABLE", details={"url": self.base}) from exc
        return json.loads(text) if text.strip() else None

    def list_executions(self, action: str, status: str, limit: int = 100) -> List[Dict]:
        """Executions of ``action`` in ``status``, newest first."""
        query = urllib.parse.urlencode({"action": action, "status": status, "limit": limit,
                                        "exclude_attributes": "result"})
        found = self.request("GET", "/executions?" + query)
        return [e for e in found or [] if isinstance(e, dict)]

    def get_execution(self, execution_id: str) -> Dict[str, Any]:
        """One execution (status, parameters, action), without its result."""
        quoted = urllib.parse.quote(execution_id, safe="")
        found = self.request("GET", f"/executions/{quoted}?exclude_attributes=result")
        return found if isinstance(found, dict) else {}

    def list_children(self, execution_id: str, limit: int = 200) -> List[Dict]:
        """The executions a workflow execution started (its tasks), oldest first."""
        query = urllib.parse.urlencode({"parent": execution_id, "limit": limit,
                                        "sort_asc": "True", "exclude_attributes": "result"})
        found = self.request("GET", "/executions?" + query)
        return [e for e in found or [] if isinstance(e, dict)]

    def pause_execution(self, execution_id: str) -> Dict[str, Any]:
        """Ask st2 to pause a workflow execution (it goes pausing -> paused)."""
        quoted = urllib.parse.quote(execution_id, safe="")
        return self.request("PUT", f"/executions/{quoted}", {"status": "pausing"}) or {}

    def run_action(self, action: str, parameters: Mapping[str, Any]) -> Dict[str, Any]:
        """Start an execution of ``action``."""
        return self.request("POST", "/executions",
                            {"action": action, "parameters": dict(parameters)}) or {}
