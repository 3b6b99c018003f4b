"""What every operation shares: probing the cluster once, reading crm_mon, polling.

An operation gets the action's ``ctx`` (see actionbase: ``ctx.run`` records every
command, and in a dry run only records a mutating one). Reading crm_mon, ``cibadmin -Q``
and version probes are read-only and run even in a dry run: the plan is made from the
real state. The front end (crmsh/pcs) and its version are probed once per cluster per
process and cached; the pack config may force the front end.
"""

import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..commands.frontend import choose_frontend, get_dialect
from ..commands.probe import (
    parse_optional,
    probe_crm_argv,
    probe_crm_mon_argv,
    probe_pcs_argv,
)
from ..errors import (
    ClusterStateError,
    CommandFailedError,
    PacemakerUpdateError,
    TransportError,
    VerificationError,
)
from ..state import ClusterState, parse_crm_mon_xml
from ..validate import validate_node_name, validate_timeout

POLL_INTERVAL = 0.25
DEFAULT_TIMEOUT = 120.0
_PROBED: Dict[str, Dict[str, Optional[str]]] = {}


class Clock:
    """Monotonic time and sleep, one object so tests can replace both at once."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (never negative)."""
        time.sleep(max(0.0, seconds))


CLOCK = Clock()


def forget_probes() -> None:
    """Drop the cached front-end probes (tests; a cluster upgraded its tools)."""
    _PROBED.clear()


def check_node(ctx: Any, node: Any) -> str:
    """``node`` validated and known to the cluster config, before any command runs."""
    name = validate_node_name(node)
    ctx.cluster.node(name)
    return name


def check_timeout(timeout: Any) -> Optional[float]:
    """An explicit op timeout validated (> 0, finite); None stays None (use the ctx's)."""
    return None if timeout is None else validate_timeout(timeout)


def timeout_of(ctx: Any, default: float = DEFAULT_TIMEOUT) -> float:
    """The action's wait timeout (validated by actionbase), or ``default``."""
    return float(ctx.timeout) if getattr(ctx, "timeout", None) else default


def run_read(ctx: Any, node: str, argv: Sequence[str], timeout: Optional[float] = None) -> Any:
    """Run a read-only command (also in a dry run); the Result, rc not checked."""
    return ctx.run(node, list(argv), timeout=timeout, mutating=False)


def run_change(ctx: Any, node: str, argv: Sequence[str], timeout: Optional[float] = None,
               ok_rcs: Sequence[int] = (0,)) -> Any:
    """Run a mutating command (only recorded in a dry run); a bad rc is CommandFailedError."""
    result = ctx.run(node, list(argv), timeout=timeout, mutating=True)
    if result is not None and result.rc not in ok_rcs:
        raise CommandFailedError(
            f"`{' '.join(argv)}` failed on {node} with rc {result.rc}",
            details={"host": node, "argv": list(argv), "rc": result.rc,
                     "stderr": (result.stderr or "")[-800:],
                     "stdout": (result.stdout or "")[-400:]})
    return result


def run_with_stdin(ctx: Any, node: str, argv: Sequence[str], stdin: str,
                   timeout: Optional[float] = None) -> Any:
    """Run a read-only command fed on stdin, recorded like ``ctx.run`` does it.

    ctx.run has no stdin; crm_simulate needs the edited CIB there (an argument is capped
    at 128 KiB and a temp file on the node would be one more thing to clean up).
    """
    entry: Dict[str, Any] = {"host": node, "argv": list(argv), "stdin_bytes": len(stdin)}
    try:
        result = ctx.transport(node).run(list(argv), timeout=timeout, stdin=stdin)
    except PacemakerUpdateError as exc:
        ctx.commands.append(dict(entry, error=exc.code, message=exc.message))
        raise
    ctx.commands.append(dict(result.to_dict(), stdin_bytes=len(stdin)))
    return result


def _probe(ctx: Any, node: str) -> Dict[str, Optional[str]]:
    forced = ctx.cluster.frontend if ctx.cluster.frontend in ("crmsh", "pcs") else None
    found: Dict[str, Optional[str]] = {"pcs": None, "crm": None}
    for tool, argv in (("pcs", probe_pcs_argv()), ("crm", probe_crm_argv())):
        if forced is None or (forced == "crmsh") == (tool == "crm"):
            res = run_read(ctx, node, argv, timeout=30)
            found[tool] = parse_optional(tool, res.stdout, res.rc)
    mon = run_read(ctx, node, probe_crm_mon_argv(), timeout=30)
    frontend, version = choose_frontend(found["pcs"], found["crm"], forced)
    return {"frontend": frontend, "version": version,
            "pacemaker": parse_optional("crm_mon", mon.stdout, mon.rc)}


def dialect_of(ctx: Any, node: Optional[str] = None) -> Any:
    """The cluster's Dialect, probed on ``node`` (default: the first reachable) once."""
    key = ctx.cluster.name
    if key not in _PROBED:
        candidates = [node] if node else list(ctx.cluster.node_names)
        _PROBED[key] = _first_reachable(ctx, candidates, _probe)[1]
    probed = _PROBED[key]
    return get_dialect(str(probed["frontend"]), probed["version"], probed["pacemaker"])


def _first_reachable(ctx: Any, nodes: Sequence[str],
                     fn: Callable[[Any, str], Any]) -> Tuple[str, Any]:
    """``fn(ctx, node)`` on the first node that can be reached; the last error otherwise."""
    last: Optional[TransportError] = None
    for node in nodes:
        try:
            return node, fn(ctx, node)
        except TransportError as exc:
            ctx.warn(f"{node} unreachable ({exc.code}): trying the next node")
            last = exc
    if last is None:
        raise VerificationError("no node to read the cluster state from", code="NO_NODE")
    raise last


def _read_state(ctx: Any, node: str) -> ClusterState:
    dialect = dialect_of(ctx, node)
    res = run_read(ctx, node, dialect.status_xml(), timeout=60)
    if res.rc != 0:
        raise CommandFailedError(f"crm_mon failed on {node} with rc {res.rc}",
                                 code="STATUS_UNAVAILABLE",
                                 details={"host": node, "rc": res.rc,
                                          "stderr": (res.stderr or "")[-500:]})
    return parse_crm_mon_xml(res.stdout)


UNANSWERED = (TransportError, CommandFailedError, ClusterStateError)


def is_unanswered(exc: BaseException) -> bool:
    """The node gave no view of the cluster (unreachable, crm_mon failed, or crm_mon said it
    cannot read its CIB, e.g. pacemaker still starting): ask another node or later. Any
    other ClusterStateError (invalid XML, unknown schema) is an answer nobody can judge."""
    if isinstance(exc, ClusterStateError):  # a VerificationError is a verdict, not silence
        return exc.code == "CRM_MON_FAILED" and not isinstance(exc, VerificationError)
    return isinstance(exc, (TransportError, CommandFailedError))


def read_state(ctx: Any, exclude: Sequence[str] = (),
               prefer: Sequence[str] = ()) -> Tuple[str, ClusterState]:
    """(node read from, state): crm_mon on the first reachable node not in ``exclude``.

    A node whose crm_mon fails (pacemaker stopped there) is skipped like an unreachable
    one, so the view always comes from a running member.
    """
    order = [n for n in list(prefer) + list(ctx.cluster.node_names) if n not in exclude]
    order = list(dict.fromkeys(order))
    last: Optional[PacemakerUpdateError] = None
    for node in order:
        try:
            return node, _read_state(ctx, node)
        except UNANSWERED as exc:
            if not is_unanswered(exc):
                raise
            ctx.warn(f"cannot read crm_mon on {node} ({exc.code})")
            last = exc
    if last is None:
        raise VerificationError("no node left to read crm_mon from", code="NO_NODE",
                                details={"excluded": list(exclude)})
    raise last


def node_view(state: ClusterState) -> Dict[str, Dict[str, Any]]:
    """Per node what crm_mon shows: flags and active resources (for error details)."""
    out: Dict[str, Dict[str, Any]] = {}
    for node in state.nodes:
        out[node.name] = {
            "online": node.online, "standby": node.standby, "maintenance": node.maintenance,
            "resources": sorted(f"{r.id}:{r.role}{'' if r.managed is not False else '(unmanaged)'}"
                                for r in state.resources_on(node.name)),
        }
    return out


def poll_until(ctx: Any, check: Callable[[ClusterState], List[str]], expected: str,
               timeout: float, exclude: Sequence[str] = (),
               progress: Optional[Callable[[Dict[str, Any]], None]] = None,
               code: str = "VERIFICATION_FAILED") -> ClusterState:
    """Poll crm_mon until ``check(state)`` returns no complaint; VerificationError at timeout.

    ``check`` returns what is wrong as person-readable strings; the error says what was
    ``expected`` and what was seen (the complaints and every node's view).
    """
    deadline = CLOCK.now() + timeout
    while True:
        node, state = read_state(ctx, exclude=exclude)
        seen = check(state)
        if not seen:
            ctx.state_after = {"read_from": node, "nodes": node_view(state)}
            return state
        remaining = deadline - CLOCK.now()
        if progress is not None:
            progress({"expected": expected, "seen": seen, "remaining": max(0.0, remaining)})
        if remaining <= 0:
            raise VerificationError(
                f"after {timeout:g}s crm_mon does not show {expected}; seen: {'; '.join(seen)}",
                code=code, details={"expected": expected, "seen": seen, "read_from": node,
                                    "nodes": node_view(state), "timeout": timeout})
        CLOCK.sleep(min(POLL_INTERVAL, remaining))
