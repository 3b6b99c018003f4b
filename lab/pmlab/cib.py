"""The CIB every node starts with: properties (dc-deadtime=3s, stonith off) and the service
(VIP + web server group, ping clone on the gateway, location rule like the seed's)."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from pmlab.consts import GATEWAY_ADDR, STANDINS, SYSTEM_PYTHON, VIP, lab_dir

WEB_PIDFILE = "/run/resource-agents/anything_web.pid"
INITIAL_PLACEMENT = "pmulab-initial-placement"


def _nvpairs(parent: ET.Element, prefix: str, tag: str, pairs: dict[str, str]) -> None:
    """<tag id=prefix><nvpair .../>...</tag> under parent."""
    block = ET.SubElement(parent, tag, id=prefix)
    for name, value in pairs.items():
        ET.SubElement(block, "nvpair", id=f"{prefix}-{name}", name=name, value=value)


def _primitive(parent: ET.Element, rid: str, cls: str, provider: str, kind: str,
               params: dict[str, str], ops: list[tuple[str, str, str]]) -> None:
    """An OCF primitive with instance attributes and operations."""
    prim = ET.SubElement(parent, "primitive", id=rid, attrib={"class": cls},
                         provider=provider, type=kind)
    _nvpairs(prim, f"{rid}-instance_attributes", "instance_attributes", params)
    opers = ET.SubElement(prim, "operations")
    for name, interval, timeout in ops:
        ET.SubElement(opers, "op", id=f"{rid}-{name}-{interval}", name=name,
                      interval=interval, timeout=timeout)


def _resources(res: ET.Element) -> None:
    """web-group (vip, web) and ping-clone."""
    group = ET.SubElement(res, "group", id="web-group")
    _primitive(group, "vip", "ocf", "heartbeat", "IPaddr2",
               {"ip": VIP, "cidr_netmask": "24", "nic": "eth0"},
               [("start", "0s", "20s"), ("stop", "0s", "20s"), ("monitor", "10s", "20s")])
    _primitive(group, "web", "ocf", "heartbeat", "anything",
               {"binfile": SYSTEM_PYTHON, "pidfile": WEB_PIDFILE,
                "cmdline_options": f"{STANDINS / 'web.py'} pmulab-web {lab_dir()}"},
               [("start", "0s", "20s"), ("stop", "0s", "20s"), ("monitor", "5s", "20s")])
    clone = ET.SubElement(res, "clone", id="ping-clone")
    _primitive(clone, "ping", "ocf", "pacemaker", "ping",
               {"host_list": GATEWAY_ADDR, "multiplier": "100", "dampen": "1s",
                "attempts": "2", "timeout": "1"},
               [("start", "0s", "60s"), ("stop", "0s", "20s"), ("monitor", "10s", "60s")])


def _constraints(cons: ET.Element) -> None:
    """The seed's connectivity rule, plus a temporary preference for server1."""
    loc = ET.SubElement(cons, "rsc_location", id="web-group-on-connected-node", rsc="web-group")
    rule = ET.SubElement(loc, "rule", id="web-group-on-connected-node-rule",
                         score="-INFINITY", attrib={"boolean-op": "or"})
    ET.SubElement(rule, "expression", id="web-group-on-connected-node-rule-1",
                  attribute="pingd", operation="not_defined")
    ET.SubElement(rule, "expression", id="web-group-on-connected-node-rule-2",
                  attribute="pingd", operation="lte", value="0", type="number")
    ET.SubElement(cons, "rsc_location", id=INITIAL_PLACEMENT, rsc="web-group",
                  node="server1", score="50")


def build_cib() -> str:
    """The initial cib.xml text (validated by crm_verify)."""
    empty = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                           check=True).stdout
    root = ET.fromstring(empty)
    conf = root.find("configuration")
    assert conf is not None
    props = conf.find("crm_config")
    assert props is not None
    _nvpairs(props, "cib-bootstrap-options", "cluster_property_set",
             {"stonith-enabled": "false", "dc-deadtime": "3s", "cluster-name": "lab",
              "cluster-recheck-interval": "1min"})
    _resources(conf.find("resources"))  # type: ignore[arg-type]
    _constraints(conf.find("constraints"))  # type: ignore[arg-type]
    defaults = ET.SubElement(conf, "rsc_defaults")
    _nvpairs(defaults, "rsc-options", "meta_attributes",
             {"resource-stickiness": "100", "migration-threshold": "3"})
    return ET.tostring(root, encoding="unicode")
