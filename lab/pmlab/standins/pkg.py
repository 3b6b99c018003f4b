#!/usr/bin/python3
"""The lab's per-node package manager stand-in: yum, dnf, rpm, apt-get, dpkg-query.

Works on the node's package DB (<lab>/nodes/<node>/pkgdb.json) and the lab repository
(<lab>/repo.json: every known version per package, oldest first). Each transaction is logged
to <lab>/nodes/<node>/pkg-transactions.jsonl with what was running on the node at that
moment. A flag file `fail-next-update` makes the next transaction fail like yum does.
One transaction at a time per node, as the real tools lock: yum/dnf wait for the holder
("Another app is currently holding the yum lock; waiting for it to exit..."), apt-get fails
at once ("E: Could not get lock ..."). The DB is read after the lock is taken, so a second
update started while the first still runs (e.g. a resumed run re-running an update whose
process outlived the killed runner) sees what the first one installed.
"""
import fcntl
import json
import os
import re
import sys
import time
from typing import Dict, List, Optional, Tuple

import common

Pkg = Dict[str, str]


def db_path() -> str:
    """This node's package DB."""
    return os.path.join(common.node_dir(), "pkgdb.json")


def load_db() -> Dict[str, Pkg]:
    """Installed packages: name -> {version, release, arch}."""
    return common.read_json(db_path(), {})  # type: ignore[return-value]


def load_repo() -> Dict[str, List[Pkg]]:
    """Available versions per package, oldest first."""
    return common.read_json(os.path.join(common.lab_dir(), "repo.json"), {})  # type: ignore


def evr(pkg: Pkg) -> str:
    """version-release."""
    return f"{pkg['version']}-{pkg['release']}"


def vkey(pkg: Pkg) -> Tuple[List[int], List[str]]:
    """Sort key of a version (numeric parts compared as numbers)."""
    parts = re.split(r"[.\-]", evr(pkg))
    return ([int(p) if p.isdigit() else -1 for p in parts], parts)


def index_in_repo(name: str, pkg: Pkg, repo: Dict[str, List[Pkg]]) -> int:
    """Position of the installed version in the repo list (-1 when unknown)."""
    for i, cand in enumerate(repo.get(name, [])):
        if evr(cand) == evr(pkg):
            return i
    return -1


def updates(db: Dict[str, Pkg], repo: Dict[str, List[Pkg]],
            names: Optional[List[str]] = None) -> Dict[str, Pkg]:
    """Newest repo version of each installed package that is newer than installed."""
    out = {}
    for name in names or sorted(db):
        if name not in db or not repo.get(name):
            continue
        best = max(repo[name], key=vkey)
        if vkey(best) > vkey(db[name]):
            out[name] = dict(best, arch=db[name].get("arch", "x86_64"))
    return out


def downgrades(db: Dict[str, Pkg], repo: Dict[str, List[Pkg]], names: List[str]) -> Dict[str, Pkg]:
    """Previous repo version of each named installed package."""
    out = {}
    for name in names:
        idx = index_in_repo(name, db.get(name, {}), repo) if name in db else -1
        if idx > 0:
            out[name] = dict(repo[name][idx - 1], arch=db[name].get("arch", "x86_64"))
    return out


def log_transaction(argv: List[str], op: str, ok: bool, rc: int,
                    before: Dict[str, Pkg], after: Dict[str, Pkg]) -> None:
    """Append one transaction record (what tests and benchmarks read)."""
    changed = {n: [evr(before[n]), evr(after[n])] for n in after
               if n in before and evr(before[n]) != evr(after[n])}
    rec = {"ts": time.time(), "node": common.node_name(), "argv": argv, "op": op, "ok": ok,
           "rc": rc, "changed": changed,
           "before": {n: evr(p) for n, p in before.items()},
           "after": {n: evr(p) for n, p in after.items()},
           "pacemaker_running": common.pacemaker_running(),
           "corosync_running": common.corosync_running(),
           "service_running": common.service_running()}
    with open(os.path.join(common.node_dir(), "pkg-transactions.jsonl"), "a") as fh:
        fh.write(json.dumps(rec, sort_keys=True) + "\n")


def take_failure_flag() -> Optional[str]:
    """Consume the fail-next-update flag; returns its message when it was set."""
    path = os.path.join(common.node_dir(), "fail-next-update")
    try:
        with open(path) as fh:
            msg = fh.read().strip()
        os.unlink(path)
    except FileNotFoundError:
        return None
    return msg or "lab: injected failure"


def take_slow_flag() -> float:
    """Consume the slow-next-update flag; the seconds the transaction takes (0: not set)."""
    path = os.path.join(common.node_dir(), "slow-next-update")
    try:
        with open(path) as fh:
            seconds = float(fh.read().strip() or 0)
        os.unlink(path)
    except (FileNotFoundError, ValueError):
        return 0.0
    return max(0.0, seconds)


def transact(argv: List[str], op: str, plan: Dict[str, Pkg], assume_yes: bool,
             style: str) -> int:
    """Apply `plan` (name -> new pkg) to the DB with yum- or apt-like output; log it."""
    db = load_db()
    if not plan:
        print("Dependencies resolved.\nNothing to do.\nComplete!" if style == "yum"
              else "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    for name, new in sorted(plan.items()):
        print(f" {name:<28} {new.get('arch', 'x86_64'):<8} {evr(new):<18} lab-updates")
    if not assume_yes:
        print("Is this ok [y/N]: Operation aborted." if style == "yum" else
              "Do you want to continue? [Y/n] Abort.")
        return 1
    slow = take_slow_flag()
    if slow:  # a long transaction (lab slow-next-update): nothing applied until it ends
        print("Running transaction", flush=True)
        time.sleep(slow)
    failure = take_failure_flag()
    if failure:
        log_transaction(argv, op, False, 1, db, db)
        print("Running transaction check\nError: Transaction test error:\n  " + failure
              if style == "yum" else "E: Sub-process /usr/bin/dpkg returned an error code (1)",
              file=sys.stderr)
        return 1 if style == "yum" else 100
    new_db = dict(db)
    new_db.update(plan)
    common.write_json(db_path(), new_db)
    log_transaction(argv, op, True, 0, db, new_db)
    verb = "Upgraded" if op == "update" else "Downgraded"
    print(f"\n{verb}:\n" + "".join(f"  {n}-{evr(p)}.{p.get('arch', 'x86_64')}\n"
                                  for n, p in sorted(plan.items())) + "\nComplete!"
          if style == "yum" else f"{len(plan)} upgraded, 0 newly installed.")
    return 0


def yum(prog: str, args: List[str]) -> int:
    """yum/dnf: check-update, update/upgrade, downgrade, list installed/updates."""
    assume_yes = any(a in ("-y", "--assumeyes") for a in args)
    words = [a for a in args if not a.startswith("-")]
    if not words:
        print(f"{prog}: lab stand-in; commands: check-update update upgrade downgrade list",
              file=sys.stderr)
        return 1
    cmd, names = words[0], words[1:]
    db, repo = load_db(), load_repo()
    unknown = [n for n in names if n not in db]
    if cmd == "check-update":
        ups = updates(db, repo, names or None)
        for name, new in sorted(ups.items()):
            print(f"{name + '.' + new['arch']:<40} {evr(new):<20} lab-updates")
        return 100 if ups else 0
    if cmd in ("update", "upgrade", "downgrade"):
        if unknown:
            for n in unknown:
                print(f"No match for argument: {n}", file=sys.stderr)
            print(f"Error: No packages marked for {cmd}.", file=sys.stderr)
            return 1
        plan = (updates(db, repo, names or None) if cmd != "downgrade"
                else downgrades(db, repo, names))
        return transact([prog, *args], "downgrade" if cmd == "downgrade" else "update",
                        plan, assume_yes, "yum")
    if cmd == "list":
        which = names[0] if names else "installed"
        rest = names[1:]
        pkgs = updates(db, repo, rest or None) if which == "updates" else {
            n: p for n, p in db.items() if not rest or n in rest}
        for name, p in sorted(pkgs.items()):
            print(f"{name + '.' + p.get('arch', 'x86_64'):<40} {evr(p):<20} "
                  f"{'lab-updates' if which == 'updates' else '@lab'}")
        return 0 if pkgs else 1
    if cmd in ("clean", "makecache"):
        return 0
    print(f"No such command: {cmd}.", file=sys.stderr)
    return 1


_BODY = r"((?:[^{}]|\{[^{}]*\})*)"
RPM_COND = re.compile(r"%\|(\w+)\?\{" + _BODY + r"\}(?::\{" + _BODY + r"\})?\|")


def rpm_format(fmt: str, name: str, pkg: Pkg) -> str:
    """Expand like rpm: %{TAG} and %-20{TAG} (NAME VERSION RELEASE ARCH EPOCH), the
    conditional %|TAG?{if set}:{if unset}| (EPOCH is unset unless the DB records one),
    and \\n \\t."""
    values = {"NAME": name, "VERSION": pkg["version"], "RELEASE": pkg["release"],
              "ARCH": pkg.get("arch", "x86_64")}
    if pkg.get("epoch") not in (None, ""):
        values["EPOCH"] = str(pkg["epoch"])
    out = RPM_COND.sub(lambda m: m.group(2) if m.group(1).upper() in values
                       else (m.group(3) or ""), fmt)

    def tag(m: "re.Match[str]") -> str:
        text = values.get(m.group(2).upper(), "(none)")
        width = m.group(1)
        if not width:
            return text
        return text.ljust(int(width[1:])) if width.startswith("-") else text.rjust(int(width))
    out = re.sub(r"%(-?\d+)?\{(\w+)\}", tag, out)
    return out.replace("\\n", "\n").replace("\\t", "\t")


def rpm(args: List[str]) -> int:
    """rpm -q [--qf FMT] NAME..., rpm -qa."""
    fmt = "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n"
    names, i, query, all_pkgs = [], 0, False, False
    while i < len(args):
        a = args[i]
        if a in ("--queryformat", "--qf"):
            fmt, i = args[i + 1], i + 2
            continue
        if a.startswith("--queryformat=") or a.startswith("--qf="):
            fmt = a.split("=", 1)[1]
        elif a in ("-q", "--query"):
            query = True
        elif a in ("-qa", "-aq"):
            query, all_pkgs = True, True
        elif a == "-a":
            all_pkgs = True
        elif not a.startswith("-"):
            names.append(a)
        i += 1
    if not query:
        print("rpm: lab stand-in supports only queries (-q)", file=sys.stderr)
        return 1
    db = load_db()
    rc = 0
    for name in sorted(db) if all_pkgs else names:
        if name in db:
            sys.stdout.write(rpm_format(fmt, name, db[name]))
        else:
            print(f"package {name} is not installed")
            rc = 1
    return rc


def expand_dpkg(fmt: str, vals: Dict[str, str]) -> str:
    """Expand ${Package} ${Version} ${Status} ${Architecture} (field widths ignored)."""
    return re.sub(r"\$\{(\w+)(?:;\d+)?\}", lambda m: vals.get(m.group(1), ""), fmt)


def dpkg_query(args: List[str]) -> int:
    """dpkg-query -W [-f FMT|--showformat=FMT] NAME..."""
    fmt, names, i = "${Package}\t${Version}\n", [], 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--showformat"):
            fmt, i = args[i + 1], i + 2
            continue
        if a.startswith("--showformat="):
            fmt = a.split("=", 1)[1]
        elif not a.startswith("-"):
            names.append(a)
        i += 1
    db, rc = load_db(), 0
    for name in names or sorted(db):
        if name not in db:
            print(f"dpkg-query: no packages found matching {name}", file=sys.stderr)
            rc = 1
            continue
        vals = {"Package": name, "Version": evr(db[name]), "Status": "install ok installed",
                "Architecture": "amd64"}
        out = expand_dpkg(fmt, vals)
        sys.stdout.write(out.replace("\\n", "\n").replace("\\t", "\t"))
    return rc


def apt_get(args: List[str]) -> int:
    """apt-get update | [-y] upgrade | [-y] install [--only-upgrade] NAME..."""
    assume_yes = any(a in ("-y", "--yes", "--assume-yes") for a in args)
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return 1
    if words[0] == "update":
        print("Reading package lists... Done")
        return 0
    if words[0] in ("upgrade", "dist-upgrade", "install"):
        db, repo = load_db(), load_repo()
        names = [n.split("=")[0] for n in words[1:]]
        missing = [n for n in names if n not in db]
        if missing:
            print(f"E: Unable to locate package {missing[0]}", file=sys.stderr)
            return 100
        return transact(["apt-get", *args], "update", updates(db, repo, names or None),
                        assume_yes, "apt")
    print(f"E: Invalid operation {words[0]}", file=sys.stderr)
    return 100


TRANSACTIONS = {"yum": ("update", "upgrade", "downgrade"),
                "dnf": ("update", "upgrade", "downgrade"),
                "apt-get": ("upgrade", "dist-upgrade", "install")}


def take_package_lock(prog: str, args: List[str]) -> Optional[int]:
    """Lock the node's package DB for a transaction like the real tool; -1: none needed,
    None: apt-get found it held (it fails, it does not wait)."""
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] not in TRANSACTIONS.get(prog, ()):
        return -1
    fd = os.open(os.path.join(common.node_dir(), "pkg.lock"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        if prog == "apt-get":
            os.close(fd)
            print("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by another "
                  "process (apt-get)", file=sys.stderr)
            return None
        print("Another app is currently holding the yum lock; waiting for it to exit...",
              file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd


def main(argv: List[str]) -> int:
    """pkg.py PROG ARGS... (PROG = yum|dnf|rpm|apt-get|dpkg-query)."""
    prog, args = argv[0], argv[1:]
    if take_package_lock(prog, args) is None:
        return 100  # the lock fd (if any) stays open until the process exits
    if prog in ("yum", "dnf"):
        return yum(prog, args)
    if prog == "rpm":
        return rpm(args)
    if prog == "dpkg-query":
        return dpkg_query(args)
    if prog == "apt-get":
        return apt_get(args)
    print(f"pkg stand-in: unknown program {prog}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
