"""`lab/lab measure`: the lab's own figures (up time, memory, client-visible outage of a
standby move and of a crash), printed as JSON for docs/LAB.md."""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from pmlab import faults, lifecycle
from pmlab.state import lab_lock, load_state
from pmlab.testing import LabCluster, bring_up


def lab_memory_mb(state: dict[str, Any]) -> float:
    """Sum of PSS (MiB) of every process in the nodes' PID namespaces and the gateway."""
    namespaces = set()
    for info in state["nodes"].values():
        if info.get("pid1"):
            with contextlib.suppress(OSError):
                namespaces.add(os.readlink(f"/proc/{info['pid1']}/ns/pid"))
    total_kb = 0
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") not in namespaces:
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def standby_outage(lab: LabCluster, runs: int) -> list[float]:
    """Probe-measured outage (s) of `crm node standby server1` over SSH, `runs` times."""
    out = []
    for _ in range(runs):
        lab.reset()
        client = lab.ssh("server1")
        with lab.probe() as probe:
            time.sleep(0.5)
            client.exec_command("crm node standby server1")[1].channel.recv_exit_status()
            _wait(lambda: probe.records and probe.records[-1].get("node") == "server2")
            time.sleep(0.5)
        out.append(probe.stop()["failed_time"])
        client.close()
    return out


def crash_outage(lab: LabCluster) -> float:
    """Probe-measured outage (s) when the node running the service is crashed."""
    lab.reset()
    with lab.probe() as probe:
        time.sleep(0.5)
        lab.crash("server1")
        _wait(lambda: probe.records and probe.records[-1].get("node") == "server2", 60)
        time.sleep(0.5)
    return float(probe.stop()["failed_time"])


def _wait(pred: Any, timeout: float = 30) -> None:
    """Poll pred until true or timeout."""
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)


def measure(nodes_list: tuple[int, ...] = (2, 3), runs: int = 3) -> dict[str, Any]:
    """Bring each size up from nothing and measure it; leaves the lab down."""
    results: dict[str, Any] = {}
    for nodes in nodes_list:
        with lab_lock():
            lifecycle.down()
        t0 = time.monotonic()
        lab = bring_up(nodes)
        up_s = round(time.monotonic() - t0, 2)
        state = load_state()
        assert state is not None
        time.sleep(5)
        mem = lab_memory_mb(state)
        outages = standby_outage(lab, runs)
        crash = crash_outage(lab)
        with lab_lock():
            faults.reset(lab.state)
        results[f"{nodes}_nodes"] = {
            "up_to_settled_s": up_s, "memory_pss_mb": mem,
            "standby_outage_s": outages, "standby_outage_median_s": statistics.median(outages),
            "crash_outage_s": round(crash, 3)}
    with lab_lock():
        lifecycle.down()
    return results


def main() -> int:
    """Print the figures as JSON."""
    print(json.dumps(measure(), indent=2))
    return 0
