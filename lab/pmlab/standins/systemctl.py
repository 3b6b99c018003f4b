#!/usr/bin/python3
"""The lab's per-node `systemctl` stand-in (there is no systemd here).

Mimics the units the pack touches: corosync, pacemaker (needs corosync; stopping corosync
stops pacemaker first), pcsd, sshd and httpd (the lab's web service). `stop` sends SIGTERM and
waits for the process to exit. Exit codes follow systemctl: is-active 0/3, is-enabled 0/1,
status 0/3, unknown unit 5.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List

import common

WEB_PIDFILE = "/run/resource-agents/anything_web.pid"
HERE = os.path.dirname(os.path.abspath(__file__))


def unit_table() -> Dict[str, Dict[str, object]]:
    """The known units: how to start them and how to recognise their main process."""
    nd = common.node_dir()
    lab = common.lab_dir()
    return {
        "corosync": {"argv": ["/usr/sbin/corosync", "-f"], "comm": "corosync",
                     "log": "/var/log/corosync/stdout.log", "ready": ["corosync-cfgtool", "-s"]},
        "pacemaker": {"argv": ["/usr/sbin/pacemakerd"], "comm": "pacemakerd",
                      "log": "/var/log/pacemaker/stdout.log", "requires": "corosync"},
        "sshd": {"argv": ["/usr/sbin/sshd", "-D", "-f", os.path.join(nd, "ssh", "sshd_config")],
                 "comm": "sshd", "ppid1": True, "log": "/var/log/pmulab-sshd.log"},
        "pcsd-ruby": {"argv": ["/usr/share/pcsd/pcsd"], "argv_part": "/usr/share/pcsd/pcsd",
                      "log": "/var/log/pcsd/ruby-stdout.log"},
        "pcsd": {"argv": ["/usr/sbin/pcsd"], "argv_part": "/usr/sbin/pcsd",
                 "log": "/var/log/pcsd/stdout.log", "requires": "pcsd-ruby"},
        "httpd": {"argv": [sys.executable, os.path.join(HERE, "web.py"), "pmulab-web", lab],
                  "argv_part": "pmulab-web", "log": "/dev/null", "pidfile": WEB_PIDFILE},
    }


ALIASES = {"ssh": "sshd", "pacemakerd": "pacemaker"}


def canon(name: str) -> str:
    """pacemaker.service -> pacemaker; ssh -> sshd."""
    if name.endswith(".service"):
        name = name[: -len(".service")]
    return ALIASES.get(name, name)


def main_pids(unit: Dict[str, object]) -> List[int]:
    """Pids of the unit's main process(es)."""
    return common.find_pids(comm=unit.get("comm"), argv_part=unit.get("argv_part"),
                            ppid=1 if unit.get("ppid1") else None)  # type: ignore[arg-type]


def is_active(name: str) -> bool:
    """The unit's main process is running."""
    return bool(main_pids(unit_table()[name]))


def start(name: str) -> int:
    """Start a unit (and what it requires) detached from us, like systemd would."""
    unit = unit_table()[name]
    req = unit.get("requires")
    if req and not is_active(str(req)):
        rc = start(str(req))
        if rc:
            return rc
    if is_active(name):
        return 0
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": "/root", "PMU_LAB_DIR": common.lab_dir()}
    with open(str(unit["log"]), "ab") as log:
        proc = subprocess.Popen(unit["argv"], stdin=subprocess.DEVNULL, stdout=log,  # type: ignore
                                stderr=log, start_new_session=True, env=env, cwd="/")
    if unit.get("pidfile"):
        os.makedirs(os.path.dirname(str(unit["pidfile"])), exist_ok=True)
        with open(str(unit["pidfile"]), "w") as fh:
            fh.write(f"{proc.pid}\n")
    return wait_ready(name, unit, proc)


def wait_ready(name: str, unit: Dict[str, object], proc: "subprocess.Popen[bytes]") -> int:
    """Wait until the unit is up (its readiness probe passes), or report failure."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"Job for {name}.service failed because the control process exited with "
                  f"error code.", file=sys.stderr)
            return 1
        ready = unit.get("ready")
        if ready is None or subprocess.run(ready, capture_output=True).returncode == 0:  # type: ignore
            return 0
        time.sleep(0.1)
    print(f"Job for {name}.service timed out.", file=sys.stderr)
    return 1


def stop(name: str) -> int:
    """SIGTERM the unit's main process and wait for it to exit (dependents first)."""
    if name == "corosync":
        stop("pacemaker")
    if name == "pcsd-ruby":
        stop("pcsd")
    pids = main_pids(unit_table()[name])
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 180
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if p in main_pids(unit_table()[name])]
        time.sleep(0.1)
    if pids:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    if name == "pcsd":
        stop("pcsd-ruby")
    return 0


def enabled_units() -> Dict[str, bool]:
    """Enablement of units, persisted on the node's 'disk'."""
    data = common.read_json(os.path.join(common.node_dir(), "units.json"), {})
    return data if isinstance(data, dict) else {}


def set_enabled(name: str, value: bool) -> None:
    """Persist enable/disable."""
    data = enabled_units()
    data[name] = value
    common.write_json(os.path.join(common.node_dir(), "units.json"), data)


def status_text(name: str) -> str:
    """A `systemctl status`-like block."""
    active = is_active(name)
    pids = main_pids(unit_table()[name])
    state = "active (running)" if active else "inactive (dead)"
    enabled = "enabled" if enabled_units().get(name) else "disabled"
    lines = [f"{'●' if active else '○'} {name}.service - {name} (pmulab stand-in)",
             f"     Loaded: loaded (/lib/systemd/system/{name}.service; {enabled})",
             f"     Active: {state}"]
    if pids:
        lines.append(f"   Main PID: {pids[0]}")
    return "\n".join(lines)


def run_verb(verb: str, names: List[str], flags: List[str]) -> int:
    """Apply one systemctl verb to units; returns the exit code systemctl would."""
    quiet = "-q" in flags or "--quiet" in flags
    rc = 0
    for raw in names:
        name = canon(raw)
        if name not in unit_table():
            if verb == "is-active":
                if not quiet:
                    print("inactive")
                rc = 3
                continue
            print(f"Unit {name}.service could not be found." if verb == "status" else
                  f"Failed to {verb} {name}.service: Unit {name}.service not found.",
                  file=sys.stderr)
            rc = 4 if verb == "status" else 5
            continue
        rc = max(rc, apply_verb(verb, name, quiet, "--now" in flags))
    return rc


def apply_verb(verb: str, name: str, quiet: bool, now: bool) -> int:
    """One verb on one known unit."""
    if verb == "start":
        return start(name)
    if verb == "stop":
        return stop(name)
    if verb == "restart":
        stop(name)
        return start(name)
    if verb in ("is-active", "status"):
        active = is_active(name)
        if verb == "status":
            print(status_text(name))
        elif not quiet:
            print("active" if active else "inactive")
        return 0 if active else 3
    if verb == "is-enabled":
        on = bool(enabled_units().get(name))
        if not quiet:
            print("enabled" if on else "disabled")
        return 0 if on else 1
    if verb in ("enable", "disable"):
        set_enabled(name, verb == "enable")
        if now:
            return start(name) if verb == "enable" else stop(name)
        return 0
    print(f"Unknown command verb {verb}.", file=sys.stderr)
    return 1


def main(argv: List[str]) -> int:
    """systemctl [flags] VERB [UNIT...]"""
    flags = [a for a in argv if a.startswith("-")]
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        print("pmulab systemctl stand-in: units " + ", ".join(sorted(unit_table())))
        return 0
    verb, names = words[0], words[1:]
    if verb in ("daemon-reload", "reset-failed"):
        return 0
    if not names:
        print("Too few arguments.", file=sys.stderr)
        return 1
    return run_verb(verb, names, flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
