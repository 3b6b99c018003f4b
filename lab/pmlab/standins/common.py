"""Helpers shared by the lab's in-node stand-ins (systemctl, package manager, web server).

They run inside a node (its own PID namespace and /proc), with /usr/bin/python3.
"""
import json
import os
import socket
from typing import Dict, List, Optional


def lab_dir() -> str:
    """The lab directory, baked into the stand-in wrappers by `lab up`."""
    return os.environ.get("PMU_LAB_DIR", "/var/lib/pmu-lab")


def node_name() -> str:
    """This node's name (its UTS namespace hostname)."""
    return socket.gethostname()


def node_dir() -> str:
    """Per-node directory of the lab for this node."""
    return os.path.join(lab_dir(), "nodes", node_name())


def read_json(path: str, default: object = None) -> object:
    """Load a JSON file, or `default` when missing."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default


def write_json(path: str, data: object) -> None:
    """Write JSON atomically."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def processes() -> List[Dict[str, object]]:
    """Live (non-zombie) processes of this node: pid, ppid, comm, argv."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        out.append({"pid": int(entry), "ppid": int(fields[1]), "comm": comm, "argv": argv})
    return out


def find_pids(comm: Optional[str] = None, argv_part: Optional[str] = None,
              ppid: Optional[int] = None) -> List[int]:
    """Pids whose comm equals `comm` and/or whose argv contains `argv_part`."""
    pids = []
    for proc in processes():
        if comm is not None and proc["comm"] != comm:
            continue
        if argv_part is not None and not any(
                argv_part in a for a in proc["argv"]):  # type: ignore[attr-defined]
            continue
        if ppid is not None and proc["ppid"] != ppid:
            continue
        pids.append(int(proc["pid"]))  # type: ignore[call-overload]
    return pids


def pacemaker_running() -> bool:
    """pacemakerd is running on this node."""
    return bool(find_pids(comm="pacemakerd"))


def corosync_running() -> bool:
    """corosync is running on this node."""
    return bool(find_pids(comm="corosync"))


def service_running() -> bool:
    """The lab's web service (package httpd) is running on this node."""
    return bool(find_pids(argv_part="pmulab-web"))
