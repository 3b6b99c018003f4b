#!/usr/bin/python3
"""PID 1 of a lab node (runs inside the node's fresh PID/mount/UTS/IPC/net namespaces).

Sets up the node's private filesystem view from <node_dir>/mounts.json (tmpfs /run and
/dev/shm, bind mounts of per-node directories), sets the hostname, signals readiness and then
reaps every orphan forever, as an init must. Killing it kills the whole node.
"""
import json
import os
import subprocess
import sys
import time


def mount(*args: str) -> None:
    """mount(8) with the given arguments; a failure is fatal for the node."""
    subprocess.run(["mount", *args], check=True)


def setup(node_dir: str) -> None:
    """Apply the node's mount table and hostname."""
    with open(os.path.join(node_dir, "mounts.json")) as fh:
        spec = json.load(fh)
    for target, mode in spec["tmpfs"]:
        mount("-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", target)
    for path in spec["run_dirs"]:
        os.makedirs(path, exist_ok=True)
    for src, target in spec["binds"]:
        mount("--bind", src, target)
    subprocess.run(["hostname", spec["hostname"]], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def reap_forever() -> None:
    """Wait for any child, including daemons re-parented to us."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.2)
        except InterruptedError:
            pass


def main() -> None:
    """Entry: init.py NODE_DIR."""
    node_dir = sys.argv[1]
    setup(node_dir)
    with open(os.path.join(node_dir, "init.ready"), "w") as fh:
        fh.write(str(time.time()))
    reap_forever()


if __name__ == "__main__":
    main()
