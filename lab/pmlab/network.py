"""The lab's links: one bridge, one veth pair per node and one for the gateway namespace.
Every link is recorded in state.json before it is created and carries the lab's tag as its
alias, so `down` deletes only links this lab made."""
from __future__ import annotations

from typing import Any

from pmlab.consts import BRIDGE, ROOT_ADDR
from pmlab.procs import run
from pmlab.state import record, save_state


def link_alias(state: dict[str, Any]) -> str:
    """The alias every lab link carries."""
    return f"pmulab:{state['tag']}"


def link_exists(name: str) -> bool:
    """A link of that name exists in the root namespace."""
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def link_is_ours(name: str, state: dict[str, Any]) -> bool | None:
    """True: the link carries this lab's alias, or it was being created by this lab (recorded
    as pending) and has no alias yet; False: someone else's; None: no such link."""
    res = run(["ip", "-o", "link", "show", "dev", name], check=False)
    if res.returncode != 0:
        return None
    if f"alias {link_alias(state)}" in res.stdout:
        return True
    pending = state.get("created", {}).get("pending_links", [])
    return name in pending and " alias " not in res.stdout


def _add_link(state: dict[str, Any], name: str, argv: list[str]) -> None:
    """Record, create, tag: a SIGKILL between the steps leaves a link `down` recognises."""
    record(state, "links", name)
    record(state, "pending_links", name)
    run(argv)
    run(["ip", "link", "set", "dev", name, "alias", link_alias(state)])
    state["created"]["pending_links"].remove(name)
    save_state(state)


def create_bridge(state: dict[str, Any]) -> None:
    """The lab bridge with the root namespace's address on it (no forwarding, no route out)."""
    if link_exists(BRIDGE):
        raise_foreign(BRIDGE)
    _add_link(state, BRIDGE, ["ip", "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0"])
    run(["ip", "addr", "add", f"{ROOT_ADDR}/24", "dev", BRIDGE])
    run(["ip", "link", "set", "dev", BRIDGE, "up"])


def raise_foreign(name: str) -> None:
    """Refuse to reuse a link the lab did not create."""
    from pmlab.errors import LabError
    raise LabError(f"a network link named {name} already exists and is not recorded by this "
                   "lab; remove it yourself or set PMU_LAB_DIR to the lab that made it")


def attach_veth(state: dict[str, Any], host_end: str, pid: int, addr: str) -> None:
    """veth pair host_end <-> eth0 inside the network namespace of pid, on the bridge."""
    peer = host_end + "p"
    owner = link_is_ours(host_end, state)
    if owner is False:
        raise_foreign(host_end)
    if owner:
        run(["ip", "link", "del", "dev", host_end], check=False)
    _add_link(state, host_end,
              ["ip", "link", "add", host_end, "type", "veth", "peer", "name", peer])
    run(["ip", "link", "set", "dev", peer, "netns", str(pid)])
    run(["ip", "link", "set", "dev", host_end, "master", BRIDGE, "up"])
    ns = ["nsenter", "-t", str(pid), "-n", "ip"]
    run([*ns, "link", "set", "dev", peer, "name", "eth0"])
    run([*ns, "addr", "add", f"{addr}/24", "dev", "eth0"])
    run([*ns, "link", "set", "dev", "eth0", "up"])
    run([*ns, "link", "set", "dev", "lo", "up"])


def set_link(name: str, up: bool) -> None:
    """Bring a lab link up or down (network cut/restore)."""
    run(["ip", "link", "set", "dev", name, "up" if up else "down"])


def delete_links(state: dict[str, Any]) -> list[str]:
    """Delete the recorded links that still exist and are ours; returns refused ones."""
    refused = []
    for name in reversed(state.get("created", {}).get("links", [])):
        owner = link_is_ours(name, state)
        if owner is False:
            refused.append(name)
        elif owner:
            run(["ip", "link", "del", "dev", name], check=False)
    return refused
