"""Fixed names and addresses of the lab; everything the lab creates is named from here."""
from __future__ import annotations

import os
from pathlib import Path

LAB_ROOT = Path(__file__).resolve().parent.parent          # /work/main/lab
STANDINS_SOURCE = LAB_ROOT / "pmlab" / "standins"
SYSTEM_PYTHON = "/usr/bin/python3"                          # what runs inside the nodes

CLUSTER_NAME = "lab"
# PMU_LAB_INSTANCE=N (0-9) runs a separate lab beside the default one (instance 0): its own
# bridge, links, subnet and state directory, so several people or suites can share a machine.
INSTANCE = int(os.environ.get("PMU_LAB_INSTANCE", "0") or 0)
if not 0 <= INSTANCE <= 9:
    raise SystemExit("PMU_LAB_INSTANCE must be 0..9")
_SUFFIX = "" if INSTANCE == 0 else str(INSTANCE)
BRIDGE = f"pmulab{INSTANCE}"
NET_PREFIX = os.environ.get("PMU_LAB_NET", f"10.213.{77 + INSTANCE}")  # /24s unused here
ROOT_ADDR = f"{NET_PREFIX}.1"
GATEWAY_ADDR = f"{NET_PREFIX}.254"
VIP = f"{NET_PREFIX}.100"
HTTP_PORT = 80
SERVICE_PACKAGE = "httpd"
HACLUSTER_PASSWORD = "pmulab-hacluster"                      # lab only, documented
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def lab_dir() -> Path:
    """The one directory the lab owns (state.json, keys, per-node files)."""
    return Path(os.environ.get("PMU_LAB_DIR", f"/var/lib/pmu-lab{_SUFFIX}"))


# The stand-ins run INSIDE the nodes, whose /tmp (and /run, /dev/shm) are private tmpfs:
# a checkout under /tmp would be invisible there, so `up` copies them into the lab's
# directory and everything refers to that copy.
STANDINS = lab_dir() / "standins"


def node_name(index: int) -> str:
    """server1, server2, ... for 1-based index."""
    return f"server{index}"


def node_addr(index: int) -> str:
    """Address of node `index` (1-based) on the lab bridge."""
    return f"{NET_PREFIX}.{10 + index}"


def node_veth(index: int) -> str:
    """Root-namespace end of node `index`'s veth pair."""
    return f"pmulab{_SUFFIX}-s{index}"


GATEWAY_VETH = f"pmulab{_SUFFIX}-gw"
