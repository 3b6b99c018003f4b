"""One exception tree for the whole pack.

Every error carries a stable UPPER_SNAKE ``code`` (what a workflow or a ticket
branches on), a ``message`` written for the person on call, and ``details``: a
JSON-serialisable dict (host, argv, rc, stderr tail, expected/seen state...).
``hint`` says what to do next when the code knows it.
"""

from typing import Any, Dict, Optional


class PacemakerUpdateError(Exception):
    """Base of every error the library raises on purpose."""

    code = "PACEMAKER_UPDATE_ERROR"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: Dict[str, Any] = dict(details or {})
        self.hint = hint

    def to_dict(self) -> Dict[str, Any]:
        """The error as the structured ``error`` member of an action result."""
        out: Dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }
        if self.hint:
            out["hint"] = self.hint
        return out

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f" -- next: {self.hint}"
        return text


class InvalidInputError(PacemakerUpdateError):
    """Input rejected before anything touched a cluster."""

    code = "INVALID_INPUT"


class ConfigError(PacemakerUpdateError):
    """The pack / CLI configuration is missing or invalid."""

    code = "CONFIG_INVALID"


class ParseError(PacemakerUpdateError):
    """Output of a cluster tool could not be understood (crm_mon XML, rpm, ...)."""

    code = "PARSE_ERROR"


class TransportError(PacemakerUpdateError):
    """A command could not be run on a host at all (not: it ran and failed)."""

    code = "TRANSPORT_ERROR"


class ConnectError(TransportError):
    code = "SSH_CONNECT_FAILED"


class AuthError(TransportError):
    code = "SSH_AUTH_FAILED"


class HostKeyError(TransportError):
    code = "SSH_HOST_KEY_REJECTED"


class CommandTimeoutError(TransportError):
    code = "COMMAND_TIMEOUT"


class CommandFailedError(PacemakerUpdateError):
    """A cluster command ran and returned a non-zero exit code."""

    code = "COMMAND_FAILED"


class UnsupportedError(PacemakerUpdateError):
    """The front end / package manager / version cannot do what was asked."""

    code = "UNSUPPORTED"


class ClusterStateError(PacemakerUpdateError):
    """The cluster is not in the state an operation expected (after or before it)."""

    code = "CLUSTER_STATE_UNEXPECTED"


class VerificationError(ClusterStateError):
    """A command returned but crm_mon does not show its effect."""

    code = "VERIFICATION_FAILED"


class PreflightError(ClusterStateError):
    """The cluster is not safe to start an update on."""

    code = "PREFLIGHT_FAILED"


class SafetyGuardError(ClusterStateError):
    """A safety guard refused a step (e.g. leaving maintenance would move resources)."""

    code = "SAFETY_GUARD_REFUSED"


class WaitTimeoutError(ClusterStateError):
    """The cluster did not reach the awaited state in time."""

    code = "WAIT_TIMEOUT"


class RunStateError(PacemakerUpdateError):
    """The embedded runner's run record is missing or cannot do what was asked."""

    code = "RUN_STATE_ERROR"
