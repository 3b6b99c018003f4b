"""LabCluster: the handle tests and benchmarks use on a running lab (see tests/conftest.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from pmlab import faults, lifecycle
from pmlab.cluster import summarize, wait_settled
from pmlab.consts import BRIDGE, GATEWAY_VETH, LAB_ROOT, lab_dir
from pmlab.errors import LabError
from pmlab.node import node_exec
from pmlab.probe import Probe
from pmlab.procs import TAG_VAR
from pmlab.state import lab_lock, load_state


class LabCluster:
    """A running lab of `nodes` nodes; every method reads the current state.json."""

    def __init__(self, nodes: int, frontend: str, pcsd: bool) -> None:
        self.node_count, self.frontend, self.pcsd = nodes, frontend, pcsd
        self.state_dir = lab_dir()
        self.config_path = self.state_dir / "config.yaml"
        self.known_hosts = self.state_dir / "known_hosts"
        self.key_file = self.state_dir / "client_key"
        self.lab_cmd = LAB_ROOT / "lab"

    # -- identity ----------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """state.json of the running lab."""
        state = load_state()
        if state is None:
            raise RuntimeError("the lab is down")
        return state

    @property
    def nodes(self) -> list[str]:
        """server1..serverN."""
        return list(self.state["nodes"])

    @property
    def addresses(self) -> dict[str, str]:
        """node name -> address on the lab bridge."""
        return {n: i["address"] for n, i in self.state["nodes"].items()}

    @property
    def vip(self) -> str:
        """The service's virtual IP."""
        return str(self.state["vip"])

    # -- running things ------------------------------------------------------------
    def exec(self, node: str, argv: Sequence[str], timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
        """Run argv on a node (nsenter); rc is data."""
        return node_exec(self.state, node, argv, timeout=timeout)

    def crm_mon_xml(self, node: str) -> str:
        """`crm_mon -1 --output-as=xml` on node."""
        res = self.exec(node, ["crm_mon", "-1", "--output-as=xml"])
        assert res.returncode == 0, res.stderr
        return res.stdout

    def summary(self, node: str | None = None) -> dict[str, Any]:
        """Small digest of crm_mon (online, quorum, dc, resources -> nodes, failures)."""
        return summarize(self.crm_mon_xml(node or faults.alive_nodes(self.state)[0]))

    def wait_settled(self, service_node: str | None = None, via: str | None = None,
                     nodes: list[str] | None = None, timeout: float = 60) -> dict[str, Any]:
        """Wait until `nodes` (default all) are online and the service runs."""
        state = self.state
        names = nodes or list(state["nodes"])
        return wait_settled(state, names, via or names[0], service_node, timeout)

    def ssh(self, node: str) -> Any:
        """A paramiko client connected to node as root, host key verified (RejectPolicy)."""
        import paramiko
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(self.addresses[node], username="root", key_filename=str(self.key_file),
                       look_for_keys=False, allow_agent=False, timeout=10)
        return client

    # -- packages ------------------------------------------------------------------
    def package_db(self, node: str) -> dict[str, str]:
        """Installed packages of node: name -> version-release."""
        db = json.loads((self.state_dir / "nodes" / node / "pkgdb.json").read_text())
        return {n: f"{p['version']}-{p['release']}" for n, p in db.items()}

    def package_log(self, node: str) -> list[dict[str, Any]]:
        """Package transactions on node since the last reset (oldest first)."""
        path = self.state_dir / "nodes" / node / "pkg-transactions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- client probe and faults -------------------------------------------------
    def probe(self, interval: float = 0.05, timeout: float = 0.5,
              out: str | Path | None = None) -> Probe:
        """Context manager: probes the VIP while the block runs; `.stop()` -> summary."""
        return Probe(interval, timeout, out)

    def _fault(self, fn: Any, *args: Any) -> None:
        """Run a fault helper under the lab lock."""
        with lab_lock():
            fn(self.state, *args)

    def crash(self, node: str) -> None:
        """Kill the node's PID namespace (power cut)."""
        self._fault(faults.crash, node)

    def poweron(self, node: str) -> None:
        """Boot a crashed node."""
        self._fault(faults.poweron, node)

    def netcut(self, node: str) -> None:
        """Cut the node's network."""
        self._fault(lambda s, n: faults.set_network(s, n, False), node)

    def netrestore(self, node: str) -> None:
        """Restore the node's network."""
        self._fault(lambda s, n: faults.set_network(s, n, True), node)

    def kill_service(self, node: str) -> None:
        """SIGKILL the web server behind Pacemaker's back."""
        self._fault(faults.kill_service, node)

    def fail_next_update(self, node: str) -> None:
        """Next package transaction on node fails (rc 1)."""
        self._fault(faults.fail_next_update, node)

    def slow_next_update(self, node: str, seconds: float = 20.0) -> None:
        """Next package transaction on node takes `seconds` before applying anything."""
        self._fault(faults.slow_next_update, node, seconds)

    def move(self, resource: str, node: str) -> None:
        """Move a resource by hand (unexpected failover)."""
        self._fault(faults.move, resource, node)

    def reset(self) -> dict[str, Any]:
        """Fresh healthy cluster, service on server1, package DBs initial.

        If the cluster cannot be made healthy in place (faults.reset already restarts
        Pacemaker everywhere once), or the lab is stale, the lab is torn down and made again,
        as a person would. After REBUILD_LIMIT such failures in a row this process fails at
        once instead of spending minutes on each later test.
        """
        _fail_fast()
        try:
            with lab_lock():
                why = lifecycle.stale_reason(self.state)
                if why is None:
                    return _succeeded(faults.reset(self.state))
        except Exception as exc:  # noqa: BLE001 - any failure here calls for the rebuild
            why = f"reset failed: {exc}"
        sys.stderr.write(f"lab: {why}; rebuilding the lab ({self.node_count} nodes, "
                         f"{self.frontend})\n")
        try:
            with lab_lock():
                _down_then_up(self.node_count, self.frontend, self.pcsd)
                return _succeeded(faults.reset(self.state))
        except Exception as exc:
            _FAILURES.append(f"{why}; the rebuild failed too: {exc}")
            raise

    def down(self) -> list[str]:
        """Tear the lab down; returns what could not be removed."""
        with lab_lock():
            return lifecycle.down()


# A lab that could not be made healthy, in this process, most recent last. Cleared by any
# success. From REBUILD_LIMIT failures in a row on, bring_up and reset fail at once: in CI a
# lab that cannot come up made each of 30 tests spend 3 minutes finding that out again.
REBUILD_LIMIT = 2
_FAILURES: list[str] = []


def _fail_fast() -> None:
    if len(_FAILURES) >= REBUILD_LIMIT:
        raise LabError(f"the lab could not be made healthy {len(_FAILURES)} times in a row "
                       f"in this process; not trying again. Last: {_FAILURES[-1]}")


def _succeeded(value: Any) -> Any:
    _FAILURES.clear()
    return value


def _down_then_up(nodes: int, frontend: str, pcsd: bool) -> None:
    """Remove whatever lab is recorded (nothing if none), then build this one; the caller
    holds the lab lock."""
    left = lifecycle.down()
    if left:
        raise LabError(f"lab down left: {left}")
    lifecycle.up(nodes, frontend, pcsd)


def bring_up(nodes: int = 2, frontend: str = "crmsh", pcsd: bool = False) -> LabCluster:
    """Up a lab of this configuration (tearing down any other recorded lab, or a stale record
    of this one, first)."""
    _fail_fast()
    try:
        with lab_lock():
            state = load_state()
            if state is not None:
                same = (state.get("status") == "up" and len(state["nodes"]) == nodes
                        and state.get("frontend") == frontend
                        and bool(state.get("pcsd")) == pcsd)
                if same and lifecycle.stale_reason(state) is None:
                    return LabCluster(nodes, frontend, pcsd)
            _down_then_up(nodes, frontend, pcsd)
    except Exception as exc:
        _FAILURES.append(f"bring-up of {nodes} nodes, {frontend}: {exc}")
        raise
    return _succeeded(LabCluster(nodes, frontend, pcsd))


def _other_instances_tags() -> set[str]:
    """Tags of the labs of other instances (PMU_LAB_INSTANCE) that are up beside this one."""
    tags = set()
    for path in Path(lab_dir()).parent.glob("pmu-lab*/state.json"):
        if path.parent != Path(lab_dir()):
            try:
                tags.add(str(json.loads(path.read_text())["tag"]))
            except (OSError, ValueError, KeyError):
                continue
    return tags


def _is_this_labs_link(name: str) -> bool:
    """The bridge and the veths of this instance (pmulab0, pmulab-s1 / pmulab5, pmulab5-s1)."""
    return name == BRIDGE or name.startswith(GATEWAY_VETH.rsplit("-", 1)[0] + "-")


def _mentions_lab_dir(text: str) -> bool:
    here = str(lab_dir())
    return f"{here}/" in text or text.endswith(here) or f"{here} " in text


def leftovers() -> list[str]:
    """Anything of this lab instance still present in the root namespace (links, mounts,
    processes). Labs of other instances running beside it are not counted."""
    found = []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [ln.split(":")[1].strip().split("@")[0] for ln in links.splitlines()]
    found += [f"link: {n}" for n in names if _is_this_labs_link(n)]
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET,SOURCE"], capture_output=True,
                            text=True).stdout
    found += [f"mount: {m}" for m in mounts.splitlines() if _mentions_lab_dir(m)]
    others = {f"{TAG_VAR}={t}".encode() for t in _other_instances_tags()}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        entries = set(env.split(b"\0"))
        dirs = {e.split(b"=", 1)[1].decode(errors="replace") for e in entries
                if e.startswith(b"PMU_LAB_DIR=")}
        if entries & others or (dirs and str(lab_dir()) not in dirs):
            continue  # a process of another instance's lab (its tag or its lab directory)
        daemon = cmd.split(" ")[0].rsplit("/", 1)[-1] in ("corosync", "pacemakerd")
        if f"{TAG_VAR}=".encode() in env or _mentions_lab_dir(cmd) or daemon or dirs:
            found.append(f"process {pid}: {cmd[:100]}")
    return found
