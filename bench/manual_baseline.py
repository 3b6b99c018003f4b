"""The "manual" baseline: a skilled person typing the seed's commands, in order, over SSH.

One SSH session per node (paramiko, the lab's key and known_hosts, host keys verified), the
seed's commands of each method for crmsh or pcs (pcs 0.10+ syntax: `pcs node standby`), and
between the commands only the waits a careful person makes: `crm_mon` polled every 0.25 s
until what the command should cause is seen (resources running elsewhere, node online and
the cluster settled). No fixed sleeps. The package step is `yum -y update <pkgs>`.

Node roles: the primary is where `web` runs at the start; the others (standbys) go first.
Every command and wait is recorded as a step (node, what, start, end), so the benchmark can
tell commands from waits. No failback (the pack's default `failback=none`).

Usage (a lab must be up, e.g. `PMU_LAB_INSTANCE=3 lab/lab up`):
  PMU_LAB_INSTANCE=3 .venv/bin/python bench/manual_baseline.py rolling_standby [--packages httpd]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))

from pmlab.cluster import is_settled, summarize  # noqa: E402
from pmlab.testing import LabCluster  # noqa: E402

POLL = 0.25
WAIT_TIMEOUT = 180.0
METHODS = ("full_stop", "cluster_maintenance", "node_maintenance", "rolling_standby",
           "stack_update")

# The seed's commands per front end (docs: /work/shared/seed/SEED-SUMMARY.md).
COMMANDS: dict[str, dict[str, list[str]]] = {
    "crmsh": {
        "mm_on": ["crm", "configure", "property", "maintenance-mode=true"],
        "mm_off": ["crm", "configure", "property", "maintenance-mode=false"],
        "maintenance": ["crm", "node", "maintenance"],
        "ready": ["crm", "node", "ready"],
        "standby": ["crm", "node", "standby"],
        "online": ["crm", "node", "online"],
    },
    "pcs": {
        "mm_on": ["pcs", "property", "set", "maintenance-mode=true"],
        "mm_off": ["pcs", "property", "set", "maintenance-mode=false"],
        "maintenance": ["pcs", "node", "maintenance"],
        "ready": ["pcs", "node", "unmaintenance"],
        "standby": ["pcs", "node", "standby"],
        "online": ["pcs", "node", "unstandby"],
    },
}


class ManualError(RuntimeError):
    """A command failed or the expected state never showed up."""


@dataclass
class Step:
    """One thing the person did: a command or a wait, on a node (None: cluster-wide)."""

    kind: str          # "cmd" or "wait"
    node: str | None
    what: str
    start: float
    end: float
    rc: int = 0


@dataclass
class Manual:
    """A person at a terminal with one SSH session per node."""

    lab: LabCluster
    frontend: str
    steps: list[Step] = field(default_factory=list)
    clients: dict[str, Any] = field(default_factory=dict)

    def session(self, node: str) -> Any:
        """The SSH session to node, opened on first use (reopened after pacemaker restarts
        do not matter: sshd is not managed by the cluster)."""
        if node not in self.clients:
            self.clients[node] = self.lab.ssh(node)
        return self.clients[node]

    def close(self) -> None:
        """Close every SSH session."""
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    def ssh(self, node: str, argv: list[str], timeout: float = 120) -> tuple[int, str, str]:
        """Run argv on node; (rc, stdout, stderr)."""
        _, out, err = self.session(node).exec_command(shlex.join(argv), timeout=timeout)
        stdout, stderr = out.read().decode(), err.read().decode()
        return out.channel.recv_exit_status(), stdout, stderr

    def run(self, node: str, argv: list[str], what: str, target: str | None = None) -> None:
        """Type a command on node (the step is recorded against `target`, default node)."""
        t0 = time.time()
        rc, _, err = self.ssh(node, argv)
        self.steps.append(Step("cmd", target or node, what, t0, time.time(), rc))
        if rc != 0:
            raise ManualError(f"{shlex.join(argv)} on {node}: rc {rc}: {err.strip()[:300]}")

    def fe(self, key: str, *args: str) -> list[str]:
        """The front end's command `key` with arguments."""
        return COMMANDS[self.frontend][key] + list(args)

    def crm_mon(self, via: list[str]) -> dict[str, Any] | None:
        """`crm_mon -1 --output-as=xml` on the first node of `via` that answers."""
        for node in via:
            try:
                rc, out, _ = self.ssh(node, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
            except Exception:  # noqa: BLE001 - a node whose stack is stopped
                continue
            if rc == 0:
                return summarize(out)
        return None

    def wait(self, what: str, node: str | None, via: list[str],
             ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll crm_mon until `ok` holds: the careful person's wait, no longer than needed."""
        t0 = time.time()
        deadline = time.monotonic() + WAIT_TIMEOUT
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.crm_mon(via)
            if last is not None and ok(last):
                self.steps.append(Step("wait", node, what, t0, time.time()))
                return last
            time.sleep(POLL)
        raise ManualError(f"waited {WAIT_TIMEOUT:.0f} s for {what}; last crm_mon: {last}")

    # -- the waits -----------------------------------------------------------------
    def wait_settled(self, node: str | None, what: str = "settled") -> None:
        """All nodes online (no standby/maintenance), quorum, service and ping everywhere."""
        names = self.lab.nodes
        self.wait(what, node, names, lambda s: is_settled(s, names, None)
                  and not s["maintenance_mode"])

    def wait_moved_off(self, node: str) -> None:
        """The node is in standby and nothing runs there; the service runs elsewhere."""
        others = [n for n in self.lab.nodes if n != node]

        def moved(s: dict[str, Any]) -> bool:
            res = s["resources"]
            web, vip = res.get("web", []), res.get("vip", [])
            return (s["nodes"].get(node, {}).get("standby") == "true" and len(web) == 1
                    and web == vip and web[0] != node
                    and all(node not in where for where in res.values()))
        self.wait("resources moved off", node, others + [node], moved)

    def wait_attr(self, node: str, attr: str, value: str) -> None:
        """crm_mon shows the node attribute (maintenance) at value."""
        self.wait(f"{attr}={value} seen", node, self.lab.nodes,
                  lambda s: s["nodes"].get(node, {}).get(attr) == value)

    def wait_offline(self, node: str) -> None:
        """Another node sees `node` offline (its stack is stopped)."""
        others = [n for n in self.lab.nodes if n != node]
        self.wait("offline seen", node, others,
                  lambda s: s["nodes"].get(node, {}).get("online") == "false")

    # -- building blocks -------------------------------------------------------------
    def update(self, node: str, packages: list[str]) -> None:
        """`yum -y update <pkgs>` on node."""
        self.run(node, ["yum", "-y", "update", *packages], "yum update")

    def stop_stack(self, node: str, packages: list[str]) -> None:
        """`systemctl stop pacemaker` (+ corosync when corosync itself is updated)."""
        self.run(node, ["systemctl", "stop", "pacemaker"], "stop pacemaker")
        if any(p.startswith("corosync") for p in packages):
            self.run(node, ["systemctl", "stop", "corosync"], "stop corosync")

    def failover(self, primary: str) -> None:
        """Seed: standby the primary, see the service run elsewhere, online it again."""
        self.run(primary, self.fe("standby", primary), "standby (failover)")
        self.wait_moved_off(primary)
        self.run(primary, self.fe("online", primary), "online (failover)")
        self.wait_settled(primary)


def roles(m: Manual) -> tuple[str, list[str]]:
    """(primary, standbys in name order) from crm_mon before anything is typed."""
    state = m.crm_mon(m.lab.nodes)
    if state is None or len(state["resources"].get("web", [])) != 1:
        raise ManualError(f"cannot tell the primary from crm_mon: {state}")
    primary = state["resources"]["web"][0]
    return primary, [n for n in m.lab.nodes if n != primary]


def full_stop(m: Manual, packages: list[str]) -> None:
    """Method 1: stop the stack everywhere (standbys first: no failover), update, start."""
    primary, standbys = roles(m)
    for node in standbys + [primary]:
        m.stop_stack(node, ["corosync"])
    for node in standbys + [primary]:
        m.update(node, packages)
    for node in [primary] + standbys:
        m.run(node, ["systemctl", "start", "pacemaker"], "start pacemaker")
    m.wait_settled(None)


def cluster_maintenance(m: Manual, packages: list[str]) -> None:
    """Method 2: maintenance-mode on, update every node, maintenance-mode off."""
    primary, standbys = roles(m)
    m.run(primary, m.fe("mm_on"), "maintenance-mode=true", target=None)
    m.wait("maintenance-mode seen", None, m.lab.nodes, lambda s: s["maintenance_mode"])
    for node in standbys + [primary]:
        m.update(node, packages)
    m.run(primary, m.fe("mm_off"), "maintenance-mode=false", target=None)
    m.wait_settled(None)


def node_maintenance(m: Manual, packages: list[str]) -> None:
    """Method 3: per standby: maintenance, update, ready; fail over; the primary likewise."""
    primary, standbys = roles(m)
    for node in standbys + [primary]:
        if node == primary:
            m.failover(primary)
        m.run(node, m.fe("maintenance", node), "node maintenance")
        m.wait_attr(node, "maintenance", "true")
        m.update(node, packages)
        m.run(node, m.fe("ready", node), "node ready")
        m.wait_settled(node)


def rolling_standby(m: Manual, packages: list[str]) -> None:
    """Method 4: per standby: standby, update, online; the primary's standby is its failover."""
    primary, standbys = roles(m)
    for node in standbys + [primary]:
        m.run(node, m.fe("standby", node), "standby")
        m.wait_moved_off(node)
        m.update(node, packages)
        m.run(node, m.fe("online", node), "online")
        m.wait_settled(node)


def stack_update(m: Manual, packages: list[str]) -> None:
    """Method 5: per standby: stop pacemaker, update, start; fail over; the primary likewise."""
    primary, standbys = roles(m)
    for node in standbys + [primary]:
        if node == primary:
            m.failover(primary)
        m.stop_stack(node, packages)
        m.wait_offline(node)
        m.update(node, packages)
        m.run(node, ["systemctl", "start", "pacemaker"], "start pacemaker")
        m.wait_settled(node)


PROCEDURES: dict[str, Callable[[Manual, list[str]], None]] = {
    "full_stop": full_stop, "cluster_maintenance": cluster_maintenance,
    "node_maintenance": node_maintenance, "rolling_standby": rolling_standby,
    "stack_update": stack_update,
}


def run_manual(lab: LabCluster, frontend: str, method: str,
               packages: list[str]) -> dict[str, Any]:
    """Do `method` by hand on the lab; wall time, the steps, and the error if it failed."""
    m = Manual(lab, frontend)
    t0 = time.time()
    error = None
    try:
        PROCEDURES[method](m, packages)
    except ManualError as exc:
        error = str(exc)
    finally:
        m.close()
    end = time.time()
    return {"method": method, "frontend": frontend, "ok": error is None, "error": error,
            "start": t0, "end": end, "wall": end - t0,
            "cmd_time": sum(s.end - s.start for s in m.steps if s.kind == "cmd"),
            "wait_time": sum(s.end - s.start for s in m.steps if s.kind == "wait"),
            "steps": [vars(s) for s in m.steps]}


def main() -> int:
    """CLI: run one method by hand on the running lab and print the record as JSON."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("method", choices=METHODS)
    ap.add_argument("--packages", default="httpd", help="comma-separated")
    args = ap.parse_args()
    import pmlab.state
    state = pmlab.state.load_state()
    if state is None:
        print("the lab is down (lab/lab up first)", file=sys.stderr)
        return 3
    lab = LabCluster(len(state["nodes"]), state.get("frontend", "crmsh"), bool(state.get("pcsd")))
    rec = run_manual(lab, lab.frontend, args.method, args.packages.split(","))
    print(json.dumps(rec, indent=2))
    return 0 if rec["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
