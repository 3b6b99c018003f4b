"""lab up / down / status."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pmlab import network
from pmlab.cib import INITIAL_PLACEMENT
from pmlab.cluster import summarize, wait_settled
from pmlab.consts import (
    BRIDGE,
    GATEWAY_ADDR,
    GATEWAY_VETH,
    NODE_PATH,
    ROOT_ADDR,
    STANDINS,
    STANDINS_SOURCE,
    VIP,
    lab_dir,
    node_addr,
    node_name,
    node_veth,
)
from pmlab.errors import AlreadyUpError, LabError, MissingPackageError, NotRootError
from pmlab.files import write_node, write_shared
from pmlab.node import node_exec, spawn_node, start_services
from pmlab.procs import TAG_VAR, is_ours, kill_and_wait, start_time, tagged_pids
from pmlab.state import load_state, save_state

REQUIRED = ["corosync", "pacemakerd", "crm_mon", "crm", "pcs", "sshd", "unshare", "nsenter",
            "ip", "ssh-keygen", "openssl", "cibadmin"]


def check_host() -> None:
    """Root and the packages of scripts/bootstrap, or a clear error."""
    if os.geteuid() != 0:
        raise NotRootError("the lab needs root (namespaces, bridge, mounts); run it as root")
    path = os.environ.get("PATH", "") + ":" + NODE_PATH
    missing = [b for b in REQUIRED if shutil.which(b, path=path) is None]
    if missing:
        raise MissingPackageError(f"missing {', '.join(missing)}: run `bash scripts/bootstrap` "
                                  "(pacemaker corosync crmsh pcs resource-agents openssh-server)")


def up(nodes: int, frontend: str, pcsd: bool) -> dict[str, Any]:
    """Create and start the whole lab; returns the state (with timings)."""
    check_host()
    recorded = load_state()
    if recorded is not None:
        why = stale_reason(recorded)
        if why is None:
            raise AlreadyUpError(f"a lab is already recorded in {lab_dir()}; "
                                 "run `lab/lab down` first")
        sys.stderr.write(f"lab up: the lab recorded in {lab_dir()} is stale ({why}); "
                         "removing what is left of it first\n")
        left = down()
        if left:
            raise LabError(f"could not remove the stale lab: {', '.join(left)}; "
                           "see `lab/lab status`")
    t0 = time.monotonic()
    d = lab_dir()
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)
    shutil.copytree(STANDINS_SOURCE, STANDINS, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    names = [node_name(i) for i in range(1, nodes + 1)]
    state: dict[str, Any] = {
        "tag": uuid.uuid4().hex[:12], "status": "creating", "created_at": time.time(),
        "frontend": frontend, "pcsd": pcsd, "bridge": BRIDGE, "root_address": ROOT_ADDR,
        "vip": VIP, "gateway": {"address": GATEWAY_ADDR, "veth": GATEWAY_VETH},
        "nodes": {n: {"address": node_addr(i), "veth": node_veth(i), "phase": "planned"}
                  for i, n in enumerate(names, 1)},
        "created": {"links": [], "dirs": [str(d / "nodes")]}}
    save_state(state)
    pairs = [(n, state["nodes"][n]["address"]) for n in names]
    write_shared(pairs, frontend)
    for n, addr in pairs:
        write_node(n, addr, pairs, pcsd)
    network.create_bridge(state)
    start_gateway(state)
    for n in names:  # one by one: each node's init and network (fast)
        state["nodes"][n]["phase"] = "starting"
        save_state(state)
        boot_node_network(state, n)
    with ThreadPoolExecutor(len(names)) as pool:  # services in parallel, like a cold boot
        list(pool.map(lambda n: start_node_services(state, n), names))
    wait_settled(state, names, names[0], timeout=120)
    node_exec(state, names[0], ["cibadmin", "--delete", "-o", "constraints", "--xml-text",
                                f'<rsc_location id="{INITIAL_PLACEMENT}"/>'])
    if pcsd:
        auth_pcs(state, names)
    state["status"] = "up"
    state["up_seconds"] = round(time.monotonic() - t0, 2)
    save_state(state)
    return state


def stale_reason(state: dict[str, Any]) -> str | None:
    """Why a recorded lab can no longer run, or None if it may still be alive.

    A lab is stale when the machine rebooted or its processes were killed from outside
    (a killed test session, a copy of the disk on another machine): the state says up, but
    the gateway namespace, which no fault ever stops, is gone, or nothing with the lab's tag
    runs at all. Nothing can be saved from such a lab; it must be torn down and made again.
    """
    tag = state.get("tag")
    if not tag or not tagged_pids(str(tag)):
        return "none of its processes runs"
    gateway = state.get("gateway", {})
    if gateway.get("pid") and not is_ours(gateway["pid"], str(tag), gateway.get("pid_start")):
        return f"its gateway process {gateway['pid']} is gone"
    bridge = state.get("bridge", BRIDGE)
    if state.get("status") == "up" and not Path(f"/sys/class/net/{bridge}").exists():
        return f"its bridge {bridge} is gone"
    return None


def boot_node_network(state: dict[str, Any], name: str) -> None:
    """Node PID 1 + veth (services come later, in parallel)."""
    info = state["nodes"][name]
    pid1 = spawn_node(state, name)
    network.attach_veth(state, info["veth"], pid1, info["address"])
    info["phase"] = "network"
    save_state(state)


def start_node_services(state: dict[str, Any], name: str) -> None:
    """Start sshd/pcsd/pacemaker on a node whose network is up."""
    start_services(state, name)
    state["nodes"][name]["phase"] = "running"
    save_state(state)


def start_gateway(state: dict[str, Any]) -> None:
    """A network namespace that is no cluster node, for the ping clone to ping."""
    env = {"PATH": NODE_PATH, TAG_VAR: state["tag"]}
    proc = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    state["gateway"].update(pid=proc.pid, pid_start=start_time(proc.pid))
    save_state(state)
    deadline = time.monotonic() + 5
    while os.readlink(f"/proc/{proc.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
        if time.monotonic() > deadline:
            raise LabError("gateway namespace did not come up")
        time.sleep(0.01)
    network.attach_veth(state, GATEWAY_VETH, proc.pid, GATEWAY_ADDR)


def auth_pcs(state: dict[str, Any], names: list[str]) -> None:
    """`pcs host auth` of every node from every node (pcs remote operations)."""
    from pmlab.consts import HACLUSTER_PASSWORD
    for n in names:
        res = node_exec(state, n, ["pcs", "host", "auth", *names, "-u", "hacluster",
                                   "-p", HACLUSTER_PASSWORD], timeout=60)
        if res.returncode != 0:
            raise LabError(f"pcs host auth on {n} failed: {res.stderr.strip()}")


def down() -> list[str]:
    """Remove everything the recorded lab created; returns what could not be removed."""
    if os.geteuid() != 0:
        raise NotRootError("lab down needs root")
    state = load_state()
    if state is None:
        return []
    state["status"] = "destroying"
    save_state(state)
    tag = state["tag"]
    kill_and_wait(tagged_pids(tag))  # node PID 1s (whole PID namespaces), unshare, gateway
    left = [f"process {p}" for p in tagged_pids(tag)]
    left += [f"link {n} (not ours, left alone)" for n in network.delete_links(state)]
    left += [f"link {n}" for n in state.get("created", {}).get("links", [])
             if network.link_is_ours(n, state)]
    if left:
        state["status"] = "down-failed"
        save_state(state)
        return left
    for path in state.get("created", {}).get("dirs", []):
        shutil.rmtree(path, ignore_errors=True)
    for f in ("state.json", "config.yaml", "known_hosts", "client_key", "client_key.pub",
              "authkey", "corosync.conf", "cib.xml", "repo.json", "state.tmp"):
        (lab_dir() / f).unlink(missing_ok=True)
    for tmp in lab_dir().glob("state.*.tmp"):  # a writer killed between write and rename
        tmp.unlink(missing_ok=True)
    shutil.rmtree(lab_dir() / "sbin", ignore_errors=True)
    shutil.rmtree(STANDINS, ignore_errors=True)  # copied at `up`; nothing runs them now
    return []


def status() -> dict[str, Any]:
    """What is recorded and what actually runs (per node: alive, cluster summary)."""
    state = load_state()
    if state is None:
        return {"status": "down", "lab_dir": str(lab_dir())}
    out: dict[str, Any] = {"status": state["status"], "lab_dir": str(lab_dir()),
                           "config": str(lab_dir() / "config.yaml"), "vip": state["vip"],
                           "bridge": state["bridge"], "up_seconds": state.get("up_seconds"),
                           "stale": stale_reason(state), "nodes": {}}
    for name, info in state["nodes"].items():
        alive = bool(info.get("pid1")) and is_ours(info["pid1"], state["tag"],
                                                   info.get("pid1_start"))
        out["nodes"][name] = {"address": info["address"], "pid1": info.get("pid1"),
                              "alive": alive, "phase": info.get("phase")}
    for name, node in out["nodes"].items():
        if node["alive"]:
            res = node_exec(state, name, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
            if res.returncode == 0:
                out["cluster"] = summarize(res.stdout)
                out["cluster_seen_from"] = name
                break
    return out
