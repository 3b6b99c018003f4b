"""Standby and maintenance (node and cluster-wide), each verified in crm_mon.

Every op returns a dict for the action's ``data``: what was asked, whether anything had
to change, and, in a dry run, the plan (``planned``: host + argv). "Already so" is
success with a warning, never a second command (a dry run plans the command anyway: its
earlier steps were only planned, so the state it reads is not the one a real run meets).
Node commands run on the node itself (the seed types them there); crmsh's silent skip of an
unreachable node (rc 0) is caught by the verification, not trusted.
"""

from typing import Any, Dict, List, Optional

from ..errors import InvalidInputError
from ..safety.roles import primary_work_on
from ..state import ClusterState
from . import guard
from .base import check_node, check_timeout, poll_until, read_state, run_change, timeout_of


def _plan(ctx: Any) -> List[Dict[str, Any]]:
    return [{"host": c["host"], "argv": c["argv"]} for c in ctx.commands if c.get("planned")]


def _result(ctx: Any, changed: bool, **data: Any) -> Dict[str, Any]:
    data.update({"changed": changed and not ctx.dry_run, "planned": _plan(ctx)})
    return data


def standby_problems(state: ClusterState, node: str, on: bool) -> List[str]:
    """What keeps crm_mon from showing ``node`` in standby (on) or online (off)."""
    item = state.node(node)
    if item is None:
        return [f"{node} is not listed by crm_mon"]
    if on:
        out = [] if item.standby is True else [f"{node} standby={item.standby}"]
        return out + [f"{r.id} still {r.role} on {node}" for r in state.resources_on(node)
                      if r.managed is not False and r.role_kind != "stopped"]
    out = [] if item.standby is False else [f"{node} standby={item.standby}"]
    return out + ([] if item.online is True else [f"{node} online={item.online}"])


def set_node_standby(ctx: Any, node: str, on: bool,
                     timeout: Optional[float] = None) -> Dict[str, Any]:
    """Standby (on: its resources move away) or online (off), verified in crm_mon."""
    node, timeout = check_node(ctx, node), check_timeout(timeout)
    _check_bool(on)
    _, state = read_state(ctx)
    # in a dry run nothing moves: the later "moved elsewhere" check must not expect it
    moving = primary_work_on(state, node) if on and not ctx.dry_run else []
    item = state.node(node)
    already = item is not None and item.standby is on
    if already:
        ctx.warn(_already(ctx, f"{node} is already "
                          f"{'in standby' if on else 'online (not in standby)'}"))
    if not already or ctx.dry_run:
        run_change(ctx, node, _dialect(ctx).node_standby(node, on))
    if not ctx.dry_run:
        state = poll_until(ctx, lambda s: standby_problems(s, node, on),
                           f"{node} {'in standby with no resources' if on else 'online'}",
                           timeout or timeout_of(ctx))
    return _result(ctx, not already, node=node, standby=on,
                   resources_on_node=sorted({r.id for r in state.resources_on(node)}),
                   moved_away=moving)


def maintenance_problems(state: ClusterState, node: Optional[str], on: bool) -> List[str]:
    """What keeps crm_mon from showing maintenance (node or cluster-wide) on/off."""
    if node is None:
        flag = state.summary.maintenance_mode
        scope = list(state.resources)
        out = [] if flag is on else [f"maintenance-mode={flag}"]
    else:
        item = state.node(node)
        flag = None if item is None else item.maintenance
        scope = list(state.resources_on(node))
        out = [] if flag is on else [f"{node} maintenance={flag}"]
    if on:
        out += [f"{r.id} on {','.join(r.nodes) or '-'} still managed" for r in scope
                if r.managed is not False and r.role_kind != "stopped"]
    return out


def _dialect(ctx: Any) -> Any:
    from .base import dialect_of
    return dialect_of(ctx)


def set_maintenance(ctx: Any, node: Optional[str], on: bool, timeout: Optional[float] = None,
                    guarded: bool = True,
                    exit_check: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Maintenance of one node (``node``) or the cluster (None) on/off, verified.

    Leaving maintenance first runs the maintenance-exit guard (re-probe + simulation)
    and refuses with SafetyGuardError when it would stop, start, move or restart anything.
    ``exit_check``: a check_maintenance_exit result from just before (see
    guard.enforce_maintenance_exit: its re-probe is reused while the CIB is unchanged).
    """
    node = None if node is None else check_node(ctx, node)
    _check_bool(on)
    wait = check_timeout(timeout) or timeout_of(ctx)
    _, state = read_state(ctx)
    current = (state.summary.maintenance_mode if node is None else
               getattr(state.node(node), "maintenance", None))
    already = current is on
    what = f"{node} maintenance" if node else "cluster maintenance-mode"
    report: Dict[str, Any] = {}
    if already:
        ctx.warn(_already(ctx, f"{what} is already {'on' if on else 'off'}"))
    if not already or ctx.dry_run:
        if not on and guarded and not already:
            report = guard.enforce_maintenance_exit(ctx, node, wait, exit_check)
        dialect = _dialect(ctx)
        argv = dialect.cluster_maintenance(on) if node is None else \
            dialect.node_maintenance(node, on)
        run_change(ctx, node or _control_node(ctx), argv)
    if not ctx.dry_run:
        state = poll_until(ctx, lambda s: maintenance_problems(s, node, on),
                           f"{what} {'on, resources unmanaged' if on else 'off'}", wait)
        if not on:
            left = sorted({r.id for r in state.unmanaged_resources()})
            if left:
                ctx.warn(f"still unmanaged after leaving {what}: {', '.join(left)}")
    return _result(ctx, not already, node=node, maintenance=on, guard=report or None,
                   unmanaged=sorted({r.id for r in state.unmanaged_resources()}))


def _already(ctx: Any, message: str) -> str:
    """The "already so" warning; a dry run still plans the command, because in the update
    it belongs to, the earlier steps (only planned) would have changed that state."""
    return message + ("; planned anyway: a real update reaches this step after the "
                      "planned ones changed it" if ctx.dry_run else "")


def _check_bool(on: Any) -> None:
    if not isinstance(on, bool):
        raise InvalidInputError(f"enabled must be true or false, got {on!r}",
                                details={"field": "enabled", "value": repr(on)[:80]})


def _control_node(ctx: Any) -> str:
    node, _ = read_state(ctx)
    return node
