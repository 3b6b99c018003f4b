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
               "--state-dir", state_dir, "--yes",
               "--param", f"method={args.method}",
               "--param", "packages=" + json.dumps(PACKAGES)]
        print("== " + " ".join(cmd), flush=True)
        with Probe(interval=0.05) as probe:
            started = time.monotonic()
            rc = subprocess.run(cmd, check=False).returncode
            elapsed = time.monotonic() - started
            time.sleep(1)
        summary = probe.summary()
        print(f"== update finished: exit {rc} after {elapsed:.1f} s")
        print("== service probe (client requests to the VIP during the update):")
        print(json.dumps(summary, indent=2))
        return rc
    finally:
        if args.keep:
            print("== lab left up (--keep); remove it with: lab/lab down")
        else:
            print("== lab down", flush=True)
            subprocess.run([str(ROOT / "lab" / "lab"), "down"], check=False)


if __name__ == "__main__":
    sys.exit(main())
