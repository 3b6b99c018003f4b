"""Package updates on one node: versions before, the update, versions after, verified.

"Everything" is only ever asked for explicitly (``packages=None``); an empty list is
refused by the commands layer. For everything, the names are those the manager lists as
updatable, so before/after cover exactly what the update is expected to change.
Updating pacemaker/corosync/libqb/... while Pacemaker runs on the node is refused: the
seed's method 5 stops the stack first.
"""

from typing import Any, Dict, List, Optional, Sequence

from ..commands.packages import get_package_manager
from ..commands.systemd import systemctl
from ..errors import ClusterStateError, InvalidInputError, UnsupportedError, VerificationError
from .base import check_node, run_change, run_read
from .modes import _plan

STACK_PACKAGES = ("pacemaker", "corosync", "libqb", "resource-agents", "pacemaker-libs",
                  "pacemaker-cli", "pacemaker-cluster-libs", "corosynclib", "libknet1", "pcs",
                  "crmsh")
_MANAGER_PROBES = (("dnf", ["dnf", "--version"]), ("yum", ["yum", "--version"]),
                   ("zypper", ["zypper", "--version"]), ("apt", ["apt-get", "--version"]))


def manager_of(ctx: Any, node: str) -> Any:
    """The node's package manager: forced by config, else the first one that answers."""
    name = ctx.cluster.package_manager
    if name in ("yum", "dnf", "apt", "zypper"):
        return get_package_manager(name)
    for candidate, argv in _MANAGER_PROBES:
        if run_read(ctx, node, argv, timeout=30).rc == 0:
            return get_package_manager(candidate)
    raise UnsupportedError(f"no known package manager (dnf, yum, zypper, apt) on {node}",
                           details={"host": node})


def _precheck_names(ctx: Any, packages: Optional[Sequence[str]]) -> None:
    """Refuse bad names before even the manager probe runs (auto: valid for rpm or deb)."""
    if packages is None:
        return
    configured = ctx.cluster.package_manager
    if configured == "auto":
        _either(packages)
    else:
        get_package_manager(configured).packages(packages, False)


def _either(packages: Sequence[str]) -> None:
    try:
        get_package_manager("yum").packages(packages, False)
    except InvalidInputError:
        get_package_manager("apt").packages(packages, False)


def _updates(ctx: Any, node: str, pm: Any, packages: Optional[Sequence[str]],
             timeout: float) -> Dict[str, str]:
    res = run_read(ctx, node, pm.check_updates(packages), timeout=timeout)
    return pm.parse_updates(res.stdout, res.rc, packages)


def _installed(ctx: Any, node: str, pm: Any, names: Sequence[str]) -> Dict[str, Optional[str]]:
    if not names:
        return {}
    res = run_read(ctx, node, pm.query_installed(names), timeout=120)
    return pm.parse_installed(res.stdout, names)


def list_package_updates(ctx: Any, nodes: Sequence[str], packages: Optional[Sequence[str]],
                         timeout: float = 300.0) -> Dict[str, Dict[str, str]]:
    """Node -> {package: available version}; nothing is installed."""
    nodes = [check_node(ctx, n) for n in nodes]
    _precheck_names(ctx, packages)
    out: Dict[str, Dict[str, str]] = {}
    for node in nodes:
        out[node] = _updates(ctx, node, manager_of(ctx, node), packages, timeout)
    return out


def _refuse_running_stack(ctx: Any, node: str, names: Sequence[str]) -> None:
    stack = sorted(n for n in names if n in STACK_PACKAGES)
    if not stack:
        return
    if run_read(ctx, node, systemctl("is-active", "pacemaker"), timeout=30).rc == 0:
        raise ClusterStateError(
            f"refusing to update {', '.join(stack)} on {node} while pacemaker runs there",
            code="STACK_RUNNING", details={"host": node, "packages": stack},
            hint="stop pacemaker on the node first (stop_pacemaker), as method 5 does")


def update_packages(ctx: Any, node: str, packages: Optional[Sequence[str]],
                    timeout: float = 1800.0, allow_running_stack: bool = False
                    ) -> Dict[str, Any]:
    """Update ``packages`` (None = everything) on ``node``; ``before``/``after``/``changed``.

    Verified: every package the manager listed as updatable must have a new installed
    version afterwards, or VerificationError names the ones that did not change.
    """
    node = check_node(ctx, node)
    _precheck_names(ctx, packages)
    pm = manager_of(ctx, node)
    argv = pm.update(packages)  # validates the names before anything runs
    expected = _updates(ctx, node, pm, packages, timeout)
    names = sorted(set(expected) | set(packages or ()))
    if not allow_running_stack:
        _refuse_running_stack(ctx, node, names)
    before = _installed(ctx, node, pm, names)
    if not expected:
        ctx.warn(f"no updates available on {node} for {', '.join(names) or 'any package'}")
        return {"node": node, "before": before, "after": before, "changed": {},
                "available": {}, "planned": []}
    run_change(ctx, node, argv, timeout=timeout)
    if ctx.dry_run:
        return {"node": node, "before": before, "after": None, "changed": {},
                "available": expected, "planned": _plan(ctx)}
    after = _installed(ctx, node, pm, names)
    changed = {n: {"before": before.get(n), "after": after.get(n)} for n in names
               if before.get(n) != after.get(n)}
    missed: List[str] = sorted(n for n in expected if n not in changed)
    if missed:
        raise VerificationError(
            f"{pm.name} returned 0 on {node} but these packages did not change: "
            f"{', '.join(missed)}", details={"host": node, "missed": missed,
                                             "before": before, "after": after,
                                             "available": expected})
    return {"node": node, "before": before, "after": after, "changed": changed,
            "available": expected, "planned": []}

