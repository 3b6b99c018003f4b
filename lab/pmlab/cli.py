"""`lab/lab` command line: up, down, status, exec, probe and the fault commands."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pmlab import lifecycle
from pmlab.errors import LabError, NotUpError
from pmlab.state import lab_lock, load_state


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands and their options."""
    p = argparse.ArgumentParser(prog="lab/lab", description="A real Pacemaker/Corosync "
                                "cluster in namespaces on this machine (docs/LAB.md).")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="create and start the lab cluster")
    up.add_argument("--nodes", type=int, choices=(2, 3), default=2)
    up.add_argument("--frontend", choices=("crmsh", "pcs"), default="crmsh")
    up.add_argument("--pcsd", action="store_true", help="run pcsd and `pcs host auth`")
    sub.add_parser("down", help="remove everything the lab created (idempotent)")
    st = sub.add_parser("status", help="nodes and cluster state")
    st.add_argument("--json", action="store_true")
    ex = sub.add_parser("exec", help="run a command on a node: exec NODE -- argv...")
    ex.add_argument("node")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    pr = sub.add_parser("probe", help="HTTP probe of the VIP from the root namespace")
    pr.add_argument("--interval", type=float, default=0.05)
    pr.add_argument("--duration", type=float, default=None, help="seconds (default: until ^C)")
    pr.add_argument("--out", default=None, help="JSONL file of every request")
    pr.add_argument("--timeout", type=float, default=0.5, help="per-request timeout")
    for name, text in (("crash", "kill the node's PID namespace (power cut)"),
                       ("poweron", "boot a crashed node again"),
                       ("netcut", "cut the node off the lab network"),
                       ("netrestore", "reconnect the node"),
                       ("kill-service", "SIGKILL the web server behind Pacemaker's back"),
                       ("fail-next-update", "make the node's next package transaction fail")):
        sub.add_parser(name, help=text).add_argument("node")
    slow = sub.add_parser("slow-next-update",
                          help="make the node's next package transaction take SECONDS")
    slow.add_argument("node")
    slow.add_argument("--seconds", type=float, default=20.0)
    sub.add_parser("measure", help="measure up time, memory and outages (2 and 3 nodes)")
    sub.add_parser("reset", help="back to a fresh healthy cluster, service on server1")
    mv = sub.add_parser("move", help="move a resource by hand (an unexpected failover)")
    mv.add_argument("resource")
    mv.add_argument("node")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; LabError -> message on stderr and its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lab: interrupted; run `lab/lab down` to clean up", file=sys.stderr)
        return 130


def dispatch(args: argparse.Namespace) -> int:
    """Route to the implementation of args.cmd."""
    if args.cmd == "up":
        with lab_lock():
            state = lifecycle.up(args.nodes, args.frontend, args.pcsd)
        print(f"lab up: {len(state['nodes'])} nodes in {state['up_seconds']} s, "
              f"VIP http://{state['vip']}/ , config {os.environ.get('PMU_LAB_DIR', '')}"
              f"{lifecycle.lab_dir() / 'config.yaml'}")
        return 0
    if args.cmd == "down":
        with lab_lock():
            left = lifecycle.down()
        if left:
            print("lab down: could not remove: " + "; ".join(left), file=sys.stderr)
            return 1
        print("lab down: nothing of the lab is left")
        return 0
    if args.cmd == "status":
        return print_status(lifecycle.status(), args.json)
    if args.cmd == "exec":
        return exec_on_node(args.node, args.argv)
    if args.cmd == "probe":
        from pmlab.probe import run_probe
        return run_probe(args.interval, args.duration, args.out, args.timeout)
    if args.cmd == "measure":
        from pmlab.measure import main as measure_main
        return measure_main()
    from pmlab import faults
    return faults.run_fault(args)


def print_status(st: dict[str, Any], as_json: bool) -> int:
    """Human or JSON status; rc 3 when the lab is down."""
    if as_json:
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0 if st["status"] != "down" else 3
    if st["status"] == "down":
        print(f"lab: down (nothing recorded in {st['lab_dir']})")
        return 3
    print(f"lab: {st['status']}  VIP {st['vip']}  config {st['config']}")
    if st.get("stale"):
        print(f"  STALE: {st['stale']}; `lab/lab up` (or down) removes what is left of it")
    cl = st.get("cluster", {})
    for name, node in st["nodes"].items():
        print(f"  {name:<8} {node['address']:<15} "
              f"{'running' if node['alive'] else 'DOWN':<8} pid1={node['pid1']}")
    if cl:
        print(f"  cluster (seen from {st['cluster_seen_from']}): quorum={cl['quorum']} "
              f"dc={cl['dc']} online={','.join(cl['online'])} failures={cl['failures']}")
        for rid, where in sorted(cl["resources"].items()):
            print(f"    {rid:<10} {','.join(where) or 'Stopped'}")
    return 0


def exec_on_node(node: str, argv: list[str]) -> int:
    """`lab exec NODE -- argv`: run interactively on the node, returning its exit code."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    state = load_state()
    if state is None:
        raise NotUpError("the lab is down; `lab/lab up` first")
    from pmlab.node import node_pid, nsenter_argv
    full = nsenter_argv(node_pid(state, node), argv or ["bash", "-l"])
    os.execvp(full[0], full)
    return 127
