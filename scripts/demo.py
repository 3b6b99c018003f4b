"""Driver of scripts/demo: lab up -> probe -> `pacemaker-update run update_cluster` -> lab down.

Options: --nodes 2|3, --frontend crmsh|pcs, --method (default rolling_standby),
--keep (leave the lab up afterwards for exploring; `lab/lab down` removes it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))

from pmlab.consts import lab_dir  # noqa: E402
from pmlab.probe import Probe  # noqa: E402

PACKAGES = ["httpd"]


def lab(*args: str) -> None:
    """Run lab/lab, failing loudly."""
    subprocess.run([str(ROOT / "lab" / "lab"), *args], check=True)


STATUS = {0: "succeeded", 1: "failed", 2: "invalid input", 3: "paused", 4: "canceled"}


def print_report(stdout: str) -> None:
    """The final report: the rendered Markdown, and where each node stands."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        print(stdout)
        return
    output = doc.get("output") or {}
    print("== final report:")
    print(output.get("report_markdown") or json.dumps(output.get("report"), indent=2))
    for cause in ("pause_cause",):
        if doc.get(cause):
            print(f"== {cause}: {json.dumps(doc[cause])}")


def print_cluster() -> None:
    """crm_mon after the update, as the admin checks it."""
    print("== cluster after the update (crm_mon -1 on server1):", flush=True)
    subprocess.run([str(ROOT / "lab" / "lab"), "exec", "server1", "--", "crm_mon", "-1"],
                   check=False)


def print_probe(summary: dict) -> None:  # type: ignore[type-arg]
    """What the service's client saw, and the verdict against one switchover."""
    print("== service probe (a client's requests to the VIP during the update):")
    print(json.dumps({k: v for k, v in summary.items() if k != "outages"}, indent=2))
    print(f"   outages: {summary['outages']} (start ts, seconds)")
    switches, outages = len(summary["switchovers"]), len(summary["outages"])
    print(f"== {summary['requests']} requests, {summary['failed']} failed; "
          f"{switches} switchover(s), {outages} outage(s), longest "
          f"{summary['longest_outage']} s. One switchover of this lab (a standby move, "
          "docs/LAB.md) costs 0.65-1.61 s; the update causes at most one per failover: "
          + ("yes" if outages <= max(switches, 0) and summary["longest_outage"] <= 1.61
             else "NO"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, choices=(2, 3), default=2)
    ap.add_argument("--frontend", choices=("crmsh", "pcs"), default="crmsh")
    ap.add_argument("--method", default="rolling_standby")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("scripts/demo needs root (the lab creates namespaces)", file=sys.stderr)
        return 2
    subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False, capture_output=True)
    rc = 1
    try:
        print(f"== lab up: {args.nodes} nodes, {args.frontend}", flush=True)
        lab("up", "--nodes", str(args.nodes), "--frontend", args.frontend)
        state_dir = tempfile.mkdtemp(prefix="pmu-demo-")
        cmd = [str(ROOT / ".venv" / "bin" / "pacemaker-update"), "run", "update_cluster",
               "--config", str(lab_dir() / "config.yaml"), "--cluster", "lab",
               "--state-dir", state_dir, "--yes", "--json",
               "--param", f"method={args.method}",
               "--param", "packages=" + json.dumps(PACKAGES)]
        print("== " + " ".join(cmd), flush=True)
        print("== per-node progress (the runner's live lines):", flush=True)
        with Probe(interval=0.05) as probe:
            started = time.monotonic()
            # progress goes to stderr (the terminal); stdout is the run's JSON document
            proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, text=True)
            elapsed = time.monotonic() - started
            time.sleep(1)
        rc = proc.returncode
        print(f"== update finished: exit {rc} ({STATUS.get(rc, '?')}) after {elapsed:.1f} s")
        print_report(proc.stdout)
        print_cluster()
        print_probe(probe.summary())
        return rc
    finally:
        if args.keep:
            print("== lab left up (--keep); remove it with: lab/lab down")
        else:
            print("== lab down", flush=True)
            subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)


if __name__ == "__main__":
    sys.exit(main())
