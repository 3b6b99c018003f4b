"""The maintenance-exit guard, op side: re-probe, fetch the CIB, simulate leaving.

``cibadmin -Q`` and ``crm_simulate -p -R`` (CIB on stdin, ``--run`` = only compute
the transition) are read-only, so the simulation also runs in a dry run. The re-probe
(``crm_resource --refresh``) rewrites resource history in the CIB status, so it is a
mutating command: in a dry run it is only planned, and the simulation then uses the
status as last probed (said in a warning).
"""

from typing import Any, Dict, Optional

from ..errors import CommandFailedError, SafetyGuardError
from ..safety.transition import edit_cib_leave_maintenance, parse_transition_summary
from .base import (
    check_node,
    check_timeout,
    dialect_of,
    read_state,
    run_change,
    run_read,
    run_with_stdin,
    timeout_of,
)
from .settle import wait_until_settled

CIB_QUERY = ["cibadmin", "-Q"]
SIMULATE = ["crm_simulate", "-p", "-R"]


def check_maintenance_exit(ctx: Any, node: Optional[str] = None, reprobe: bool = True,
                           timeout: Optional[float] = None) -> Dict[str, Any]:
    """What leaving maintenance (cluster-wide, or of ``node``) would do: ``safe`` + ``actions``.

    ``actions`` are crm_simulate's Transition Summary items (Start, Stop, Move, Restart,
    Recover, Promote, Demote, ...). ``safe`` is True only when that list is empty.
    """
    node = None if node is None else check_node(ctx, node)
    wait = check_timeout(timeout) or timeout_of(ctx)
    control, _ = read_state(ctx, prefer=[node] if node else [])
    if reprobe:
        run_change(ctx, control, dialect_of(ctx).resource_refresh(node=node))
        if ctx.dry_run:
            ctx.warn("dry run: resources not re-probed; simulating on the last probed status")
        else:
            wait_until_settled(ctx, timeout=wait, expect_online=[])
    cib = run_read(ctx, control, CIB_QUERY, timeout=60)
    if cib.rc != 0:
        raise CommandFailedError(f"cibadmin -Q failed on {control} with rc {cib.rc}",
                                 details={"host": control, "rc": cib.rc,
                                          "stderr": (cib.stderr or "")[-500:]})
    copy = edit_cib_leave_maintenance(cib.stdout, node).decode("utf-8")
    sim = run_with_stdin(ctx, control, SIMULATE, copy, timeout=120)
    if sim.rc != 0:
        raise CommandFailedError(f"crm_simulate failed on {control} with rc {sim.rc}",
                                 details={"host": control, "rc": sim.rc,
                                          "stderr": (sim.stderr or "")[-500:]})
    actions = parse_transition_summary(sim.stdout)
    return {"safe": not actions, "actions": actions, "node": node, "simulated_on": control,
            "reprobed": bool(reprobe and not ctx.dry_run)}


def enforce_maintenance_exit(ctx: Any, node: Optional[str], timeout: float) -> Dict[str, Any]:
    """Run the guard; SafetyGuardError listing what would happen unless it is a no-op."""
    report = check_maintenance_exit(ctx, node, reprobe=True, timeout=timeout)
    refuse_unsafe_exit(report)
    return report


def refuse_unsafe_exit(report: Dict[str, Any]) -> None:
    """SafetyGuardError listing what leaving maintenance would do, unless it is nothing."""
    node = report["node"]
    if not report["safe"]:
        listing = "; ".join(a["line"] for a in report["actions"])
        scope = f"node maintenance of {node}" if node else "cluster maintenance-mode"
        raise SafetyGuardError(
            f"leaving {scope} would make Pacemaker act: {listing}",
            details={"actions": report["actions"], "node": node,
                     "simulated_on": report["simulated_on"]},
            hint="restore every resource to its state before maintenance (start what was "
                 "stopped, stop what was started by hand), then try again")
