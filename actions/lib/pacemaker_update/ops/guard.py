"""The maintenance-exit guard, op side: re-probe, fetch the CIB, simulate leaving.

``cibadmin -Q`` and ``crm_simulate -p -R`` (CIB on stdin, ``--run`` = only compute
the transition) are read-only, so the simulation also runs in a dry run. The re-probe
(``crm_resource --refresh``) rewrites resource history in the CIB status, so it is a
mutating command: in a dry run it is only planned, and the simulation then uses the
status as last probed (said in a warning).
"""

import time
from typing import Any, Dict, List, Optional

from ..errors import CommandFailedError, SafetyGuardError, WaitTimeoutError
from ..safety.probes import cib_version, pending_probes, probe_marks
from ..safety.transition import edit_cib_leave_maintenance, parse_transition_summary
from .base import (
    CLOCK,
    POLL_INTERVAL,
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
        targets = [node] if node else None
        before = None if ctx.dry_run else probe_marks(_query_cib(ctx, control), targets)
        run_change(ctx, control, dialect_of(ctx).resource_refresh(node=node))
        if before is None:
            ctx.warn("dry run: resources not re-probed; simulating on the last probed status")
        else:
            deadline = CLOCK.now() + wait
            _wait_probes(ctx, control, before, targets, deadline)
            wait_until_settled(ctx, timeout=max(1.0, deadline - CLOCK.now()),
                               expect_online=[])
    cib = _query_cib(ctx, control)
    copy = edit_cib_leave_maintenance(cib, node).decode("utf-8")
    sim = run_with_stdin(ctx, control, SIMULATE, copy, timeout=120)
    if sim.rc != 0:
        raise CommandFailedError(f"crm_simulate failed on {control} with rc {sim.rc}",
                                 details={"host": control, "rc": sim.rc,
                                          "stderr": (sim.stderr or "")[-500:]})
    actions = parse_transition_summary(sim.stdout)
    return {"safe": not actions, "actions": actions, "node": node, "simulated_on": control,
            "reprobed": bool(reprobe and not ctx.dry_run), "cib_version": cib_version(cib),
            "checked_at": time.time()}


def _query_cib(ctx: Any, control: str) -> str:
    cib = run_read(ctx, control, CIB_QUERY, timeout=60)
    if cib.rc != 0:
        raise CommandFailedError(f"cibadmin -Q failed on {control} with rc {cib.rc}",
                                 details={"host": control, "rc": cib.rc,
                                          "stderr": (cib.stderr or "")[-500:]})
    return str(cib.stdout)


def _wait_probes(ctx: Any, control: str, before: Any, targets: Optional[List[str]],
                 deadline: float) -> None:
    """Until every resource probed before the refresh has a new completed record (the
    simulation must not run on a half-probed status: safety/probes.py)."""
    while True:
        pending = pending_probes(before, probe_marks(_query_cib(ctx, control), targets))
        if not pending:
            return
        if CLOCK.now() >= deadline:
            raise WaitTimeoutError(
                f"the re-probe did not finish: no new result for {', '.join(pending)}",
                details={"pending": pending, "read_from": control},
                hint="check those resources' agents on the node (crm_mon -1 --output-as=xml, "
                     "the node's pacemaker log); maintenance is still on, nothing was lifted")
        CLOCK.sleep(POLL_INTERVAL)


# How long a safe, re-probed guard result stays usable for leaving maintenance right after
# it (the workflows run the guard as a step of its own, then leave maintenance).
CHECK_REUSE_SECONDS = 120.0


def enforce_maintenance_exit(ctx: Any, node: Optional[str], timeout: float,
                             checked: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Run the guard; SafetyGuardError listing what would happen unless it is a no-op.

    ``checked``: the result of ``check_maintenance_exit`` run just before for the same
    scope. When it was safe, re-probed (not a dry run) less than CHECK_REUSE_SECONDS ago,
    and the CIB is still the one it simulated on (same admin_epoch.epoch.num_updates:
    nothing was written since, not even a probe result), the re-probe is not repeated:
    leaving is simulated again on the current CIB and refused the same way. Otherwise
    (changed, old, unsafe, another scope, malformed) the whole guard runs again.
    """
    if checked is not None and _reusable(checked, node):
        report = check_maintenance_exit(ctx, node, reprobe=False, timeout=timeout)
        if report["cib_version"] is not None and report["cib_version"] == checked["cib_version"]:
            report["probes_of"] = checked["checked_at"]
            refuse_unsafe_exit(report)
            return report
    report = check_maintenance_exit(ctx, node, reprobe=True, timeout=timeout)
    refuse_unsafe_exit(report)
    return report


def _reusable(checked: Any, node: Optional[str]) -> bool:
    if not isinstance(checked, dict):
        return False
    at, version = checked.get("checked_at"), checked.get("cib_version")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not isinstance(version, str):
        return False
    return (checked.get("safe") is True and checked.get("reprobed") is True
            and checked.get("node") == node and 0 <= time.time() - at <= CHECK_REUSE_SECONDS)


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
