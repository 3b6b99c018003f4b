"""Files the lab writes into its directory before any node starts: keys, known_hosts,
corosync.conf + authkey, the initial CIB, per-node directories, package DB and repository,
the stand-in wrappers and the pack's config.yaml for cluster `lab`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from pmlab.cib import build_cib
from pmlab.consts import (
    CLUSTER_NAME,
    GATEWAY_ADDR,
    HACLUSTER_PASSWORD,
    STANDINS,
    SYSTEM_PYTHON,
    lab_dir,
)

HACLUSTER = "hacluster"
HACLIENT = "haclient"

# per-node directory (under nodes/<name>/fs) -> where it is bind-mounted in the node
NODE_BINDS = {
    "var-lib-pacemaker": "/var/lib/pacemaker", "var-lib-corosync": "/var/lib/corosync",
    "etc-corosync": "/etc/corosync", "log-pacemaker": "/var/log/pacemaker",
    "log-corosync": "/var/log/corosync", "log-crmsh": "/var/log/crmsh",
    "var-lib-pcsd": "/var/lib/pcsd", "log-pcsd": "/var/log/pcsd", "root": "/root",
    "hosts": "/etc/hosts", "hostname": "/etc/hostname", "shadow": "/etc/shadow",
    # Each node has its own /usr/local/lib, as a real machine does: what the pack installs
    # there (the alert agent, detect/install.py AGENT_DIR) stays on that node's "disk",
    # invisible to the host and to other labs. Empty at `up`, gone with `down`.
    "usr-local-lib": "/usr/local/lib",
}
PACKAGES = {  # name -> versions in the lab repository, installed one first
    "pacemaker": ["2.1.5-1.el9", "2.1.6-1.el9"], "pacemaker-cli": ["2.1.5-1.el9", "2.1.6-1.el9"],
    "pacemaker-libs": ["2.1.5-1.el9", "2.1.6-1.el9"],
    "corosync": ["3.1.7-1.el9", "3.1.8-1.el9"], "corosynclib": ["3.1.7-1.el9", "3.1.8-1.el9"],
    "resource-agents": ["4.12.0-1.el9", "4.13.0-1.el9"], "pcs": ["0.11.5-1.el9", "0.11.6-1.el9"],
    "crmsh": ["4.4.1-1", "4.5.0-1"], "httpd": ["2.4.57-1.el9", "2.4.62-1.el9"],
    "openssl": ["3.0.7-1.el9", "3.0.7-27.el9"],
}
STANDIN_PROGRAMS = {"systemctl": "systemctl.py", "yum": "pkg.py yum", "dnf": "pkg.py dnf",
                    "rpm": "pkg.py rpm", "apt-get": "pkg.py apt-get",
                    "dpkg-query": "pkg.py dpkg-query"}


def _pkg(evr: str) -> dict[str, str]:
    """'2.1.5-1.el9' -> {version, release, arch}."""
    version, release = evr.split("-", 1)
    return {"version": version, "release": release, "arch": "x86_64"}


def initial_pkgdb() -> dict[str, dict[str, str]]:
    """What every node has installed after `up` (and after reset)."""
    return {name: _pkg(vers[0]) for name, vers in PACKAGES.items()}


def write_shared(nodes: list[tuple[str, str]], frontend: str) -> None:
    """Keys, corosync files, CIB, repo, stand-in wrappers (once per lab)."""
    d = lab_dir()
    _keygen(d / "client_key", "pmulab-client")
    (d / "authkey").write_bytes(os.urandom(256))
    (d / "corosync.conf").write_text(corosync_conf(nodes))
    (d / "cib.xml").write_text(build_cib())
    (d / "repo.json").write_text(json.dumps(
        {n: [_pkg(v) for v in vers] for n, vers in PACKAGES.items()}, indent=2))
    sbin = d / "sbin"
    sbin.mkdir(exist_ok=True)
    for prog, target in STANDIN_PROGRAMS.items():
        script, *extra = target.split()
        args = " ".join([str(STANDINS / script), *extra])
        path = sbin / prog
        path.write_text(f"#!/bin/sh\n# pmulab stand-in (lab only, never the pack's)\n"
                        f"PMU_LAB_DIR='{d}' exec {SYSTEM_PYTHON} {args} \"$@\"\n")
        path.chmod(0o755)
    write_config_yaml(nodes, frontend)


def corosync_conf(nodes: list[tuple[str, str]]) -> str:
    """knet + crypto, token 3000, two_node for 2 nodes."""
    nodelist = "".join(
        f"    node {{\n        ring0_addr: {addr}\n        name: {name}\n"
        f"        nodeid: {i}\n    }}\n" for i, (name, addr) in enumerate(nodes, 1))
    two = "    two_node: 1\n" if len(nodes) == 2 else ""
    return (f"totem {{\n    version: 2\n    cluster_name: {CLUSTER_NAME}\n"
            "    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n"
            "    token: 3000\n}\n"
            f"nodelist {{\n{nodelist}}}\n"
            f"quorum {{\n    provider: corosync_votequorum\n{two}}}\n"
            "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n"
            "    to_syslog: no\n    to_stderr: no\n    timestamp: on\n}\n")


def write_node(name: str, addr: str, nodes: list[tuple[str, str]], pcsd: bool) -> Path:
    """Create nodes/<name>: its filesystem pieces, sshd, package DB, mount table."""
    nd = lab_dir() / "nodes" / name
    fs = nd / "fs"
    for sub in NODE_BINDS:
        if sub not in ("hosts", "hostname", "shadow"):
            (fs / sub).mkdir(parents=True, exist_ok=True)
    (fs / "usr-local-lib").chmod(0o755)  # Pacemaker runs the alert agent as hacluster
    _seed_pacemaker_dirs(fs)
    shutil.copy(lab_dir() / "corosync.conf", fs / "etc-corosync" / "corosync.conf")
    shutil.copy(lab_dir() / "authkey", fs / "etc-corosync" / "authkey")
    (fs / "etc-corosync" / "authkey").chmod(0o400)
    hosts = "".join(f"{a} {n}\n" for n, a in nodes)
    (fs / "hosts").write_text(f"127.0.0.1 localhost\n::1 localhost\n{hosts}"
                              f"{GATEWAY_ADDR} pmulab-gateway\n")
    (fs / "hostname").write_text(name + "\n")
    _write_shadow(fs / "shadow")
    _write_ssh(nd, fs, addr)
    (nd / "pkgdb.json").write_text(json.dumps(initial_pkgdb(), indent=2, sort_keys=True))
    (nd / "pkgdb.initial.json").write_text(json.dumps(initial_pkgdb(), indent=2))
    (nd / "pkg-transactions.jsonl").touch()
    units = {"corosync": True, "pacemaker": True, "sshd": True, "pcsd": pcsd, "httpd": False}
    (nd / "units.json").write_text(json.dumps(units, indent=2))
    write_mounts(nd, name)
    return nd


def write_mounts(nd: Path, name: str) -> None:
    """mounts.json read by the node's init (standins/init.py)."""
    binds = [[str(nd / "fs" / sub), target] for sub, target in NODE_BINDS.items()]
    binds.append([str(lab_dir() / "sbin"), "/usr/local/sbin"])
    binds.append([str(lab_dir() / "sbin" / "systemctl"), "/usr/bin/systemctl"])
    spec = {"hostname": name, "tmpfs": [["/run", "755"], ["/dev/shm", "1777"], ["/tmp", "1777"]],
            "run_dirs": ["/run/sshd", "/run/lock", "/run/systemd/system",
                         "/run/resource-agents", "/run/crm"],
            "binds": binds}
    (nd / "mounts.json").write_text(json.dumps(spec, indent=2))


def _seed_pacemaker_dirs(fs: Path) -> None:
    """/var/lib/pacemaker/{cib,pengine,blackbox,cores} owned by hacluster, CIB pre-seeded."""
    base = fs / "var-lib-pacemaker"
    for sub in ("cib", "pengine", "blackbox", "cores"):
        (base / sub).mkdir(exist_ok=True)
        shutil.chown(base / sub, HACLUSTER, HACLIENT)
        (base / sub).chmod(0o750)
    cib = base / "cib" / "cib.xml"
    shutil.copy(lab_dir() / "cib.xml", cib)
    shutil.chown(cib, HACLUSTER, HACLIENT)
    cib.chmod(0o600)
    pcsd = fs / "var-lib-pcsd"
    pcsd.chmod(0o700)
    for sub in ("log-pacemaker",):
        shutil.chown(fs / sub, HACLUSTER, HACLIENT)
        (fs / sub).chmod(0o2770)


def _write_shadow(path: Path) -> None:
    """The node's /etc/shadow: the host's, with a lab password for hacluster (pcs auth)."""
    hashed = subprocess.run(["openssl", "passwd", "-6", HACLUSTER_PASSWORD],
                            capture_output=True, text=True, check=True).stdout.strip()
    lines = []
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == HACLUSTER:
            fields[1] = hashed
        lines.append(":".join(fields))
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o640)
    shutil.chown(path, "root", "shadow")


def _keygen(path: Path, comment: str) -> None:
    """An ed25519 key pair at path/path.pub (kept if present)."""
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                        "-f", str(path)], check=True)


def _write_ssh(nd: Path, fs: Path, addr: str) -> None:
    """Host key, sshd_config, authorized_keys of the node; its known_hosts line."""
    ssh = nd / "ssh"
    ssh.mkdir(exist_ok=True)
    _keygen(ssh / "ssh_host_ed25519_key", f"pmulab-{nd.name}")
    (ssh / "sshd_config").write_text(
        f"ListenAddress {addr}\nPort 22\nHostKey {ssh / 'ssh_host_ed25519_key'}\n"
        "PidFile /run/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes yes\n"
        "AuthorizedKeysFile /root/.ssh/authorized_keys\nPrintMotd no\nMaxStartups 50:30:100\n"
        "MaxSessions 50\nSubsystem sftp /usr/lib/openssh/sftp-server\n")
    dot = fs / "root" / ".ssh"
    dot.mkdir(parents=True, exist_ok=True)
    (fs / "root").chmod(0o700)
    dot.chmod(0o700)
    pub = (lab_dir() / "client_key.pub").read_text()
    (dot / "authorized_keys").write_text(pub)
    (dot / "authorized_keys").chmod(0o600)
    host_pub = (ssh / "ssh_host_ed25519_key.pub").read_text().split()
    with open(lab_dir() / "known_hosts", "a") as fh:
        fh.write(f"{addr} {host_pub[0]} {host_pub[1]}\n")
        fh.write(f"{nd.name} {host_pub[0]} {host_pub[1]}\n")


def write_config_yaml(nodes: list[tuple[str, str]], frontend: str) -> None:
    """config.yaml: the pack's config for this cluster (config.schema.yaml format)."""
    d = lab_dir()
    node_lines = "".join(f"      - name: {n}\n        address: {a}\n" for n, a in nodes)
    (d / "config.yaml").write_text(
        "# Written by lab/lab up: the pack config for the lab cluster.\n"
        f"clusters:\n  {CLUSTER_NAME}:\n"
        "    description: pmulab, a real Pacemaker cluster in namespaces (docs/LAB.md)\n"
        f"    nodes:\n{node_lines}"
        f"    ssh:\n      user: root\n      port: 22\n      key_file: {d / 'client_key'}\n"
        f"      known_hosts: {d / 'known_hosts'}\n      use_agent: false\n"
        "      allow_unknown_host_keys: false\n"
        f"    frontend: {frontend}\n    package_manager: yum\n")
