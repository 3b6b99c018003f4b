"""Fault injection (crash, power on, network cut/restore, kill the service, failing package
update, move by hand) and `reset` back to a fresh healthy cluster."""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

from pmlab import network
from pmlab.cluster import summarize, wait_settled
from pmlab.consts import lab_dir
from pmlab.errors import LabError, NotUpError
from pmlab.node import boot_node, node_exec, node_pid
from pmlab.procs import is_ours, kill_and_wait, run
from pmlab.state import lab_lock, load_state, save_state

SERVICE_GROUP = "web-group"
RESOURCES = ("web-group", "vip", "web", "ping-clone", "ping")


def current_state() -> dict[str, Any]:
    """The recorded lab, or NotUpError."""
    state = load_state()
    if state is None or state.get("status") != "up":
        raise NotUpError("the lab is not up; `lab/lab up` first")
    return state


def node_alive(state: dict[str, Any], name: str) -> bool:
    """The node's PID 1 is running."""
    info = state["nodes"][name]
    return bool(info.get("pid1")) and is_ours(info["pid1"], state["tag"], info.get("pid1_start"))


def alive_nodes(state: dict[str, Any]) -> list[str]:
    """Names of the nodes that are powered on."""
    return [n for n in state["nodes"] if node_alive(state, n)]


def crash(state: dict[str, Any], name: str) -> None:
    """Power cut: SIGKILL the node's PID 1, so the kernel kills its whole PID namespace."""
    pid = node_pid(state, name)
    unshare = state["nodes"][name].get("unshare_pid")
    kill_and_wait([pid])
    if unshare and is_ours(unshare, state["tag"], None):
        kill_and_wait([unshare])
    state["nodes"][name]["phase"] = "crashed"
    save_state(state)


def poweron(state: dict[str, Any], name: str) -> None:
    """Boot a crashed node: fresh namespaces, same disks, enabled services start."""
    if name not in state["nodes"]:
        raise LabError(f"unknown node {name!r}")
    if node_alive(state, name):
        raise LabError(f"{name} is already running")
    boot_node(state, name)


def set_network(state: dict[str, Any], name: str, up: bool) -> None:
    """Cut or restore the node's only link (its veth end on the lab bridge)."""
    node_pid(state, name)
    network.set_link(state["nodes"][name]["veth"], up)
    state["nodes"][name]["netcut"] = not up
    save_state(state)


def kill_service(state: dict[str, Any], name: str) -> None:
    """SIGKILL the web server on the node, behind Pacemaker's back."""
    res = node_exec(state, name, ["sh", "-c", "pid=$(cat /run/resource-agents/anything_web.pid "
                                  "2>/dev/null) && kill -KILL \"$pid\""])
    if res.returncode != 0:
        raise LabError(f"the service is not running on {name}")


def fail_next_update(state: dict[str, Any], name: str) -> None:
    """The node's next package transaction fails with rc 1 and a yum-like error."""
    if name not in state["nodes"]:
        raise LabError(f"unknown node {name!r}")
    (lab_dir() / "nodes" / name / "fail-next-update").write_text(
        "package httpd-2.4.62-1.el9.x86_64 conflicts with file from package "
        "pmulab-fault-0.1-1 (injected by lab fail-next-update)\n")


def slow_next_update(state: dict[str, Any], name: str, seconds: float = 20.0) -> None:
    """The node's next package transaction takes `seconds` before it applies anything."""
    if name not in state["nodes"]:
        raise LabError(f"unknown node {name!r}")
    if not 0 < seconds <= 3600:
        raise LabError("slow-next-update: --seconds must be in (0, 3600]")
    (lab_dir() / "nodes" / name / "slow-next-update").write_text(f"{seconds:g}\n")


def move(state: dict[str, Any], resource: str, name: str, timeout: float = 30) -> None:
    """crm_resource --move, as an admin would by hand; waits until it runs there."""
    if name not in state["nodes"]:
        raise LabError(f"unknown node {name!r}")
    via = alive_nodes(state)[0]
    res = node_exec(state, via, ["crm_resource", "--move", "-r", resource, "-N", name])
    if res.returncode != 0:
        raise LabError(f"crm_resource --move failed: {res.stderr.strip()}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = node_exec(state, via, ["crm_mon", "-1", "--output-as=xml"])
        if out.returncode == 0:
            where = summarize(out.stdout)["resources"]
            key = "vip" if resource == SERVICE_GROUP else resource
            if where.get(key) == [name]:
                return
        time.sleep(0.2)
    raise LabError(f"{resource} did not start on {name} within {timeout:.0f} s")


def reset(state: dict[str, Any]) -> dict[str, Any]:
    """Back to fresh and healthy: all nodes on and connected, pacemaker running, no standby or
    maintenance, failures cleaned, package DBs initial, service on server1."""
    names = list(state["nodes"])
    for name in names:
        nd = lab_dir() / "nodes" / name
        if not node_alive(state, name):
            boot_node(state, name)
        if state["nodes"][name].get("netcut"):
            set_network(state, name, True)
        (nd / "fail-next-update").unlink(missing_ok=True)
        (nd / "slow-next-update").unlink(missing_ok=True)
        (nd / "pkgdb.json").write_text((nd / "pkgdb.initial.json").read_text())
        (nd / "pkg-transactions.jsonl").write_text("")
        units = json.loads((nd / "units.json").read_text())
        units.update(corosync=True, pacemaker=True, sshd=True)
        (nd / "units.json").write_text(json.dumps(units, indent=2))
        for unit in ("sshd", "pacemaker") + (("pcsd",) if state.get("pcsd") else ()):
            node_exec(state, name, ["systemctl", "start", unit])
    via = names[0]
    _clear_cluster_config(state, via, names)
    try:
        return _settle_with_service_on_first(state, names, via)
    except LabError:
        # Seen in CI after the fault test that kills the DC's controller: vip and web active
        # on both nodes, a node's feature set never reported again, the group not movable
        # ("Multiple items match request"); it does not heal by itself. Restart the stack
        # everywhere, as a person would, and start clean.
        _restart_pacemaker(state, names)
        _clear_cluster_config(state, via, names)
        return _settle_with_service_on_first(state, names, via)


def _settle_with_service_on_first(state: dict[str, Any], names: list[str],
                                  via: str) -> dict[str, Any]:
    """Wait until settled, move the service group to the first node if needed, settle."""
    summary = wait_settled(state, names, via, timeout=90)
    if summary["resources"].get("vip") != [names[0]]:
        move(state, SERVICE_GROUP, names[0])
        node_exec(state, via, ["crm_resource", "--clear", "-r", SERVICE_GROUP])
    return wait_settled(state, names, via, service_node=names[0], timeout=60)


def _restart_pacemaker(state: dict[str, Any], names: list[str]) -> None:
    """Stop pacemaker on every node (last one stops what still runs), then start all."""
    for name in reversed(names):
        node_exec(state, name, ["systemctl", "stop", "pacemaker"])
    for name in names:
        node_exec(state, name, ["systemctl", "start", "pacemaker"])


def _clear_cluster_config(state: dict[str, Any], via: str, names: list[str]) -> None:
    """Undo what tests and updates change in the CIB (all idempotent)."""
    cmds = [["crm_attribute", "--type", "crm_config", "-n", "maintenance-mode", "-D"]]
    for n in names:
        for attr in ("standby", "maintenance"):
            cmds.append(["crm_attribute", "-N", n, "-n", attr, "-D"])
            cmds.append(["crm_attribute", "-N", n, "-n", attr, "-l", "reboot", "-D"])
    for rid in RESOURCES:
        cmds.append(["crm_resource", "--clear", "-r", rid])
        cmds.append(["crm_resource", "-r", rid, "--meta", "-d", "is-managed"])
        cmds.append(["crm_resource", "-r", rid, "--meta", "-d", "target-role"])
    cmds.append(["crm_resource", "--cleanup"])
    script = "\n".join(" ".join(c) + " >/dev/null 2>&1" for c in cmds)
    node_exec(state, via, ["sh", "-c", script])


def run_fault(args: argparse.Namespace) -> int:
    """CLI entry of the fault commands and reset."""
    with lab_lock():
        state = current_state()
        if args.cmd == "reset":
            summary = reset(state)
            print(f"lab reset: healthy, service on {summary['resources']['vip'][0]}")
            return 0
        action = {"crash": crash, "poweron": poweron, "kill-service": kill_service,
                  "fail-next-update": fail_next_update,
                  "netcut": lambda s, n: set_network(s, n, False),
                  "netrestore": lambda s, n: set_network(s, n, True)}
        if args.cmd == "slow-next-update":
            slow_next_update(state, args.node, args.seconds)
            print(f"lab: the next package transaction on {args.node} takes {args.seconds:g} s")
            return 0
        if args.cmd == "move":
            move(state, args.resource, args.node)
            print(f"lab: {args.resource} moved to {args.node} by hand (constraint "
                  f"cli-prefer-{args.resource}; `crm_resource --clear -r {args.resource}`)")
            return 0
        action[args.cmd](state, args.node)
        print(f"lab: {args.cmd} {args.node}: done")
        return 0


__all__ = ["crash", "poweron", "set_network", "kill_service", "fail_next_update",
           "slow_next_update", "move",
           "reset", "run", "run_fault"]
