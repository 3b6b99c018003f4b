"""The contract every transport keeps: ``run(argv) -> Result``.

A command that ran and exited non-zero is data (``Result.ok`` is False); only "could not
run it at all" raises: connect/auth/host-key failures, timeouts, and sudo refusing to run it
without a password (the command never started, so there is no result to interpret).
"""


import abc
import math
import re
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from pacemaker_update.errors import InvalidInputError, TransportError

SUDO_PREFIX: Tuple[str, ...] = ("sudo", "-n", "--")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# sudo's own failures (rc 1, message prefixed "sudo:"), seen with LC_ALL=C.
_SUDO_ERRORS = (
    (re.compile(r"^sudo: (a password is required|a terminal is required)", re.M),
     "SUDO_PASSWORD_REQUIRED", "sudo wants a password; allow the command with NOPASSWD"),
    (re.compile(r"is not in the sudoers file|is not allowed to execute", re.M),
     "SUDO_NOT_PERMITTED", "grant the user sudo rights for this command"),
)
# rc 127 from the shell, `timeout` or our local runner when sudo itself is missing.
_SUDO_MISSING = re.compile(r"\bsudo\W{0,2}: (command )?not found|run command .sudo.")


@dataclass(frozen=True)
class Result:
    """What one command did on one host. ``started_at`` is a UNIX timestamp (UTC)."""

    host: str
    argv: Tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float
    started_at: float

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.rc == 0

    @property
    def failed(self) -> bool:
        """True when the command exited non-zero."""
        return self.rc != 0

    def tail(self, n: int = 20) -> str:
        """Last ``n`` lines of stderr (stdout when stderr is empty), for error messages."""
        text = self.stderr if self.stderr.strip() else self.stdout
        return "\n".join(text.rstrip("\n").splitlines()[-n:])

    def to_dict(self) -> Dict[str, Any]:
        """The result as a JSON-serialisable dict (argv as a list)."""
        out = asdict(self)
        out["argv"] = list(self.argv)
        return out


def validate_argv(argv: Sequence[str]) -> Tuple[str, ...]:
    """A non-empty list/tuple of NUL-free strings, as a tuple; else InvalidInputError."""
    if not isinstance(argv, (list, tuple)) or not argv:
        raise InvalidInputError(
            "argv must be a non-empty list of strings", details={"argv": repr(argv)[:200]}
        )
    for item in argv:
        if not isinstance(item, str) or "\x00" in item:
            raise InvalidInputError(
                "every argv element must be a string without NUL bytes",
                details={"argv": [repr(a)[:200] for a in argv]},
            )
    if not argv[0] or "=" in argv[0]:
        # "A=B" would be taken as an assignment by the `env` prefix of the SSH transport.
        raise InvalidInputError("argv[0] must name a program (non-empty, no '=')",
                                details={"argv": list(argv)})
    return tuple(argv)


def validate_env(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Environment names must be shell-style identifiers, values NUL-free strings."""
    out: Dict[str, str] = {}
    for name, value in (env or {}).items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise InvalidInputError("invalid environment variable name", details={"name": name})
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidInputError("invalid environment value", details={"name": name})
        out[name] = value
    return out


def validate_timeout(timeout: Optional[float], default: float) -> float:
    """A positive, finite number of seconds (``None`` means the transport's default)."""
    value = default if timeout is None else timeout
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise InvalidInputError("timeout must be a positive number of seconds",
                                details={"timeout": repr(value)})
    return float(value)


def check_sudo_result(result: Result) -> None:
    """Raise a coded TransportError when sudo itself refused to run the command."""
    if result.rc == 127 and _SUDO_MISSING.search(result.stderr):
        raise TransportError(
            f"sudo is not installed on {result.host}", code="SUDO_NOT_FOUND",
            details=_error_details(result), hint="install sudo or connect as root (sudo=false)",
        )
    if result.rc != 1:
        return
    for pattern, code, hint in _SUDO_ERRORS:
        if pattern.search(result.stderr):
            raise TransportError(
                f"sudo refused to run {result.argv[0]} on {result.host}",
                code=code, details=_error_details(result), hint=hint,
            )


def _error_details(result: Result) -> Dict[str, Any]:
    return {"host": result.host, "argv": list(result.argv), "rc": result.rc,
            "stderr_tail": result.tail(10), "sudo": True}


class Transport(abc.ABC):
    """Runs argv lists on one host. Subclasses implement ``_execute``; ``run`` validates."""

    host: str = "?"
    sudo: bool = False
    default_timeout: float = 120.0

    def run(
        self,
        argv: Sequence[str],
        timeout: Optional[float] = None,
        sudo: Optional[bool] = None,
        env: Optional[Mapping[str, str]] = None,
        stdin: Optional[str] = None,
    ) -> Result:
        """Run ``argv`` (no shell interprets it) and return its Result, whatever its rc.

        ``sudo=None`` uses the transport's default. Raises InvalidInputError for bad input,
        a TransportError subclass only when the command could not run or timed out.
        """
        args = validate_argv(argv)
        extra_env = validate_env(env)
        seconds = validate_timeout(timeout, self.default_timeout)
        if stdin is not None and not isinstance(stdin, str):
            raise InvalidInputError("stdin must be a string", details={"host": self.host})
        use_sudo = self.sudo if sudo is None else bool(sudo)
        result = self._execute(args, seconds, use_sudo, extra_env, stdin)
        if use_sudo:
            check_sudo_result(result)
        return result

    @abc.abstractmethod
    def _execute(self, argv: Tuple[str, ...], timeout: float, sudo: bool,
                 env: Dict[str, str], stdin: Optional[str]) -> Result:
        """Run validated input; return a Result carrying the caller's ``argv``."""

    def close(self) -> None:  # noqa: B027 - optional hook: a local transport holds nothing
        """Release connections; the transport may be used again afterwards (reconnects)."""

    def release(self) -> None:
        """Done for now: the connection may be kept for reuse (SSH pool); default close()."""
        self.close()

    def details(self, argv: Sequence[str], **extra: Any) -> Dict[str, Any]:
        """Error details naming this host and the argv (for every error a transport raises)."""
        out: Dict[str, Any] = {"host": self.host, "argv": list(argv)}
        out.update(extra)
        return out

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()


def sudo_argv(argv: Sequence[str]) -> List[str]:
    """``argv`` behind ``sudo -n --``: -n makes a password prompt fail at once, not hang."""
    return list(SUDO_PREFIX) + list(argv)
