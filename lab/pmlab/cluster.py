"""Reading the cluster from a node: crm_mon XML -> a small summary, and waiting to settle."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

from pmlab.errors import LabError
from pmlab.node import node_exec


def crm_mon_xml(state: dict[str, Any], name: str) -> str:
    """`crm_mon -1 --output-as=xml` run on node `name`."""
    res = node_exec(state, name, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
    if res.returncode != 0:
        raise LabError(f"crm_mon on {name} failed (rc {res.returncode}): {res.stderr.strip()}")
    return res.stdout


def summarize(xml_text: str) -> dict[str, Any]:
    """online nodes, quorum, DC, where each resource runs, failures, pending actions."""
    root = ET.fromstring(xml_text)
    dc = root.find("summary/current_dc")
    opts = root.find("summary/cluster_options")
    nodes = {n.get("name"): n.attrib for n in root.iter("node") if n.get("type") == "member"}
    resources: dict[str, list[str]] = {}
    for res in root.iter("resource"):
        rid = res.get("id", "")
        resources.setdefault(rid, [])
        if res.get("role") == "Started":
            resources[rid].extend(n.get("name", "") for n in res.findall("node"))
    return {
        "quorum": dc is not None and dc.get("with_quorum") == "true",
        "dc": dc.get("name") if dc is not None else None,
        "online": sorted(n for n, a in nodes.items() if a.get("online") == "true"
                         and a.get("standby") == "false" and a.get("maintenance") == "false"),
        "nodes": {n: dict(a) for n, a in nodes.items()},
        "resources": resources,
        "failures": len(root.findall("failures/failure")),
        "maintenance_mode": opts is not None and opts.get("maintenance-mode") == "true",
    }


def is_settled(summary: dict[str, Any], names: list[str], service_node: str | None) -> bool:
    """All nodes online, quorum, DC, vip+web on one node, ping on every node."""
    res = summary["resources"]
    vip, web = res.get("vip", []), res.get("web", [])
    ok = (summary["quorum"] and summary["dc"] and summary["online"] == sorted(names)
          and len(vip) == 1 and vip == web and sorted(res.get("ping", [])) == sorted(names))
    return bool(ok and (service_node is None or vip == [service_node]))


def wait_settled(state: dict[str, Any], names: list[str], via: str,
                 service_node: str | None = None, timeout: float = 90) -> dict[str, Any]:
    """Poll crm_mon on `via` until the cluster is settled; returns the last summary."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        res = node_exec(state, via, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
        if res.returncode == 0:
            last = summarize(res.stdout)
            if is_settled(last, names, service_node):
                return last
        time.sleep(0.25)
    raise LabError(f"cluster did not settle within {timeout:.0f} s; last seen: {last}")
