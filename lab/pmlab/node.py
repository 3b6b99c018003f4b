"""A lab node: PID 1 in fresh namespaces (standins/init.py), its veth, its services."""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Sequence

from pmlab.consts import NODE_PATH, STANDINS, SYSTEM_PYTHON, lab_dir
from pmlab.errors import LabError, NotUpError
from pmlab.network import attach_veth
from pmlab.procs import TAG_VAR, children_of, is_ours, run, start_time
from pmlab.state import save_state

UNSHARE = ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork",
           "--mount-proc", "--propagation", "private", "--"]


def spawn_node(state: dict[str, Any], name: str) -> int:
    """Start the node's PID 1 and wait until its mounts are in place; returns its pid."""
    info = state["nodes"][name]
    nd = lab_dir() / "nodes" / name
    (nd / "init.ready").unlink(missing_ok=True)
    env = {"PATH": NODE_PATH, "LANG": "C.UTF-8", TAG_VAR: state["tag"],
           "PMU_LAB_DIR": str(lab_dir())}
    with open(nd / "init.log", "ab") as log:
        proc = subprocess.Popen([*UNSHARE, SYSTEM_PYTHON, str(STANDINS / "init.py"), str(nd)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True)
    info.update(unshare_pid=proc.pid, unshare_start=start_time(proc.pid), phase="spawning")
    save_state(state)
    pid1 = _wait_child(proc)
    info.update(pid1=pid1, pid1_start=start_time(pid1), phase="spawned")
    save_state(state)
    deadline = time.monotonic() + 15
    while not (nd / "init.ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise LabError(f"{name}: node init failed, see {nd / 'init.log'}")
        time.sleep(0.02)
    return pid1


def _wait_child(proc: subprocess.Popen[bytes]) -> int:
    """The forked child of unshare = PID 1 of the new PID namespace."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children_of(proc.pid)
        if kids:
            return kids[0]
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise LabError("unshare did not start the node's init (are you root?)")


def boot_node(state: dict[str, Any], name: str) -> None:
    """Spawn the node, wire its network and start its enabled services (a power-on)."""
    info = state["nodes"][name]
    pid1 = spawn_node(state, name)
    attach_veth(state, info["veth"], pid1, info["address"])
    info["phase"] = "network"
    save_state(state)
    start_services(state, name)
    info["phase"] = "running"
    save_state(state)


def start_services(state: dict[str, Any], name: str) -> None:
    """sshd, pcsd (if enabled) and pacemaker (starts corosync first) via the stand-in."""
    import json
    units = json.loads((lab_dir() / "nodes" / name / "units.json").read_text())
    wanted = [u for u in ("sshd", "pcsd", "pacemaker") if units.get(u)]
    for unit in wanted:
        res = node_exec(state, name, ["systemctl", "start", unit], timeout=60)
        if res.returncode != 0:
            raise LabError(f"{name}: systemctl start {unit} failed: {res.stderr.strip()}")


def node_pid(state: dict[str, Any], name: str) -> int:
    """PID 1 of a running node (verified to be the lab's own process)."""
    info = state.get("nodes", {}).get(name)
    if info is None:
        raise LabError(f"unknown node {name!r}; nodes: {', '.join(state.get('nodes', {}))}")
    pid = info.get("pid1")
    if not pid or not is_ours(pid, state["tag"], info.get("pid1_start")):
        raise NotUpError(f"{name} is not running (crashed or powered off); "
                         f"`lab/lab poweron {name}` starts it")
    return int(pid)


def nsenter_argv(pid: int, argv: Sequence[str]) -> list[str]:
    """argv that runs `argv` inside every namespace of the node, with a clean root env."""
    return ["nsenter", "-t", str(pid), "-n", "-m", "-u", "-i", "-p", "--wd=/root", "--",
            "env", "-i", f"PATH={NODE_PATH}", "HOME=/root", "LANG=C.UTF-8", "USER=root",
            "LOGNAME=root", f"TERM={os.environ.get('TERM', 'dumb')}", *argv]


def node_exec(state: dict[str, Any], name: str, argv: Sequence[str],
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run argv on node `name` and capture its output (rc is data, not an exception)."""
    return run(nsenter_argv(node_pid(state, name), argv), check=False, timeout=timeout)
