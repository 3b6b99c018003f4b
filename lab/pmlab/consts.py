"""Fixed names and addresses of the lab; everything the lab creates is named from here."""
from __future__ import annotations

import os
from pathlib import Path

LAB_ROOT = Path(__file__).resolve().parent.parent          # /work/main/lab
STANDINS = LAB_ROOT / "pmlab" / "standins"
SYSTEM_PYTHON = "/usr/bin/python3"                          # what runs inside the nodes

CLUSTER_NAME = "lab"
BRIDGE = "pmulab0"
NET_PREFIX = os.environ.get("PMU_LAB_NET", "10.213.77")     # a /24 unused on this machine
ROOT_ADDR = f"{NET_PREFIX}.1"
GATEWAY_ADDR = f"{NET_PREFIX}.254"
VIP = f"{NET_PREFIX}.100"
HTTP_PORT = 80
SERVICE_PACKAGE = "httpd"
HACLUSTER_PASSWORD = "pmulab-hacluster"                      # lab only, documented
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def lab_dir() -> Path:
    """The one directory the lab owns (state.json, keys, per-node files)."""
    return Path(os.environ.get("PMU_LAB_DIR", "/var/lib/pmu-lab"))


def node_name(index: int) -> str:
    """server1, server2, ... for 1-based index."""
    return f"server{index}"


def node_addr(index: int) -> str:
    """Address of node `index` (1-based) on the lab bridge."""
    return f"{NET_PREFIX}.{10 + index}"


def node_veth(index: int) -> str:
    """Root-namespace end of node `index`'s veth pair."""
    return f"pmulab-s{index}"


GATEWAY_VETH = "pmulab-gw"
