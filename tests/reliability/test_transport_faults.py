"""Transport faults at 3 a.m., against a REAL OpenSSH server on loopback (tests/sshd_server.py).

- the connection drops while a command runs → SSH_CONNECT_FAILED, and the command is not run
  a second time;
- the server's host key changes between two connections of one transport → the reconnect is
  refused with SSH_HOST_KEY_REJECTED;
- sudo wants a password → SUDO_PASSWORD_REQUIRED. The remote ``sudo`` is a stand-in script
  first on the session PATH (sshd ``SetEnv PATH=...``) that prints sudo's real message
  ("sudo: a password is required", what sudo 1.9 prints for ``-n`` without NOPASSWD) and
  exits 1: the test does not change the machine's sudoers;
- a command outlives its timeout → COMMAND_TIMEOUT, and the remote process is gone;
- ops over a real SSHTransport: ``set_node_standby`` whose connection drops while
  ``crm node standby`` runs is not re-run blindly: the op fails with a coded error, and the
  next attempt reads crm_mon first and, seeing the node already in standby, runs nothing.
  ``crm`` / ``crm_mon`` are stand-in scripts on the remote PATH: crm_mon prints recorded
  Pacemaker 2.1.5 XML (two_node_normal, or two_node_standby once the stand-in ``crm`` has put
  server1 in standby), ``crm`` logs every call.
"""

import json
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sshd_server as sshd_helper  # noqa: E402
from pacemaker_update import ops  # noqa: E402
from pacemaker_update.actionbase import ActionContext  # noqa: E402
from pacemaker_update.config import load_config  # noqa: E402
from pacemaker_update.errors import (  # noqa: E402
    CommandTimeoutError,
    ConnectError,
    HostKeyError,
    TransportError,
)
from pacemaker_update.transport import SSHTransport  # noqa: E402
from sshd_server import SSHDServer  # noqa: E402

pytestmark = pytest.mark.sshd
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
COUNTS: Dict[str, str] = {}

FAKE_SUDO = """#!/bin/sh
# Stand-in for sudo without NOPASSWD: sudo -n prints this and exits 1.
echo "sudo: a password is required" >&2
exit 1
"""
FAKE_CRM_MON = """#!/bin/sh
# Stand-in crm_mon: recorded Pacemaker 2.1.5 XML; server1 in standby once crm put it there.
case "$1" in --version) echo "Pacemaker 2.1.5"; exit 0;; esac
if [ -e "{dir}/standby" ]; then cat "{dir}/two_node_standby.xml"
else cat "{dir}/two_node_normal.xml"; fi
"""
FAKE_CRM = """#!/bin/sh
# Stand-in crm: logs every call; `node standby` takes effect at once, then takes its time.
case "$1" in --version) echo "crm 4.4.1"; exit 0;; esac
echo "$*" >> "{dir}/crm.log"
if [ "$1 $2" = "node standby" ]; then touch "{dir}/standby"; sleep 20; fi
exit 0
"""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def write_script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class StandInSSHD(SSHDServer):
    """A real sshd whose sessions have a directory of stand-in tools first on PATH."""

    def __init__(self) -> None:
        super().__init__()
        self.bin = self.dir / "bin"
        self.bin.mkdir()

    def cut_connections(self) -> int:
        """A network drop as the client sees it: the per-connection sshd processes die first
        (no exit status can reach the client any more), then what they ran, so nothing is
        left behind. (drop_connections kills deepest first: the client may then still get
        the killed command's exit status, which is not a dropped connection.)"""
        tree = sshd_helper._children(self.pid)
        direct = [p for p in tree if _parent(p) == self.pid]
        sshd_helper._kill(direct)
        sshd_helper._kill([p for p in tree if p not in direct])
        return len(direct)

    def start(self) -> "StandInSSHD":
        self.session_env = [*self.session_env,
                            f"PATH={self.bin}:/usr/bin:/bin:/usr/sbin:/sbin"]
        super().start()
        return self


@pytest.fixture
def sshd() -> Iterator[StandInSSHD]:
    """A fresh real sshd per test (faults change it), stopped whatever happened."""
    if not os.path.exists(sshd_helper.SSHD):
        pytest.fail("openssh-server (sshd) is not installed: run scripts/bootstrap")
    server = StandInSSHD().start()
    try:
        yield server
    finally:
        server.stop()


def transport(server: SSHDServer, **kw: Any) -> SSHTransport:
    """An SSHTransport to the loopback sshd with its real host key pinned in known_hosts."""
    kw.setdefault("known_hosts", server.known_hosts)
    return SSHTransport("node1", server.host, port=server.port, user=server.user,
                        key_file=str(server.client_key), use_agent=False, **kw)


def wait_for(predicate: Any, seconds: float = 15.0) -> None:
    """Poll ``predicate`` until true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def run_in_thread(fn: Any) -> Dict[str, Any]:
    """Start ``fn`` in a thread; the dict gets 'result' or 'error', and 'thread'."""
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    box["thread"] = threading.Thread(target=target, daemon=True)
    box["thread"].start()
    return box


@pytest.fixture(scope="module", autouse=True)
def write_counts() -> Iterator[None]:
    """Merge the outcome of each fault into $PU_RELIABILITY_COUNTS (if set)."""
    yield
    path = os.environ.get("PU_RELIABILITY_COUNTS")
    if path:
        old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        old["transport"] = COUNTS
        Path(path).write_text(json.dumps(old, indent=1, sort_keys=True))


def test_connection_dropped_mid_command_is_coded_and_not_rerun(sshd: StandInSSHD) -> None:
    log = sshd.dir / "ran.log"
    tr = transport(sshd)
    box = run_in_thread(lambda: tr.run(["sh", "-c", f"echo ran >> {log}; sleep 30"],
                                       timeout=60))
    wait_for(log.exists)
    assert sshd.cut_connections() > 0
    box["thread"].join(20)
    assert not box["thread"].is_alive(), "run() hangs after the connection dropped"
    error = box.get("error")
    assert isinstance(error, ConnectError) and error.code == "SSH_CONNECT_FAILED", box
    assert "not retried" in error.message
    time.sleep(1.0)
    assert log.read_text().splitlines() == ["ran"], "the command ran again after the drop"
    assert tr.run(["true"]).ok  # the transport reconnects for the next command
    tr.close()
    COUNTS["dropped_mid_command"] = f"{error.code}, ran once"


def test_host_key_changed_between_connections_is_rejected(sshd: StandInSSHD) -> None:
    tr = transport(sshd, known_hosts=str(sshd.dir / "unknown_hosts"), allow_unknown_host=True)
    assert tr.run(["true"]).ok  # first contact: key pinned in memory (explicit opt-in)
    tr.close()
    old_line = sshd.host_key_line()
    # The node is replaced (or spoofed): same address, another host key. sshd re-reads its
    # keys on SIGHUP.
    sshd.host_key.write_bytes(sshd.other_host_key.read_bytes())
    os.kill(sshd.pid, 1)
    wait_for(sshd._banner_ready)
    time.sleep(0.5)
    with pytest.raises(HostKeyError) as caught:
        tr.run(["true"])
    assert caught.value.code == "SSH_HOST_KEY_REJECTED"
    assert not (sshd.dir / "unknown_hosts").exists(), "a pinned key was written to disk"
    # A fresh transport that knows the old key refuses too.
    with pytest.raises(HostKeyError):
        transport(sshd, known_hosts=sshd.write_known_hosts("old", old_line)).run(["true"])
    COUNTS["host_key_changed"] = caught.value.code


def test_sudo_password_required_is_coded(sshd: StandInSSHD) -> None:
    write_script(sshd.bin / "sudo", FAKE_SUDO)
    tr = transport(sshd, sudo=True)
    with pytest.raises(TransportError) as caught:
        tr.run(["id", "-u"])
    assert caught.value.code == "SUDO_PASSWORD_REQUIRED"
    assert caught.value.details["argv"] == ["id", "-u"]
    tr.close()
    COUNTS["sudo_password_required"] = caught.value.code


def test_command_timeout_is_coded_and_remote_process_gone(sshd: StandInSSHD) -> None:
    pidfile = sshd.dir / "sleeper.pid"
    tr = transport(sshd)
    start = time.monotonic()
    with pytest.raises(CommandTimeoutError) as caught:
        tr.run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"], timeout=2)
    elapsed = time.monotonic() - start
    assert caught.value.code == "COMMAND_TIMEOUT" and elapsed < 15
    pid = int(pidfile.read_text())

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")

    wait_for(gone, 10)
    tr.close()
    COUNTS["command_timeout"] = f"{caught.value.code} after {elapsed:.1f}s, remote process gone"


# --- ops over a real SSHTransport ----------------------------------------------------------
@pytest.fixture
def cluster_node(sshd: StandInSSHD) -> StandInSSHD:
    """The sshd as both nodes of a 2-node crmsh cluster with stand-in crm / crm_mon."""
    for name in ("two_node_normal.xml", "two_node_standby.xml"):
        (sshd.bin / name).write_bytes((FIXTURES / name).read_bytes())
    write_script(sshd.bin / "crm_mon", FAKE_CRM_MON.format(dir=sshd.bin))
    write_script(sshd.bin / "crm", FAKE_CRM.format(dir=sshd.bin))
    return sshd


def make_ctx(server: StandInSSHD) -> ActionContext:
    """An ActionContext whose transports are real SSHTransports to the loopback sshd."""
    node = {"address": server.host, "ssh": {"port": server.port, "user": server.user,
                                            "key_file": str(server.client_key),
                                            "use_agent": False,
                                            "known_hosts": server.known_hosts}}
    config = load_config({"clusters": {"lab": {
        "frontend": "crmsh", "package_manager": "yum",
        "nodes": [dict(node, name="server1"), dict(node, name="server2")]}}})
    return ActionContext(config.cluster("lab"), config, timeout=30)


def crm_calls(server: StandInSSHD) -> List[str]:
    log = server.bin / "crm.log"
    return log.read_text().splitlines() if log.exists() else []


def test_standby_dropped_mid_command_is_not_retried_blindly(cluster_node: StandInSSHD) -> None:
    ops.forget_probes()
    ctx = make_ctx(cluster_node)
    box = run_in_thread(lambda: ops.set_node_standby(ctx, "server1", True))
    wait_for(lambda: crm_calls(cluster_node) == ["node standby server1"])
    assert cluster_node.cut_connections() > 0
    box["thread"].join(30)
    assert not box["thread"].is_alive()
    error = box.get("error")
    assert isinstance(error, ConnectError) and error.code == "SSH_CONNECT_FAILED", box
    time.sleep(1.0)
    assert crm_calls(cluster_node) == ["node standby server1"], "standby was re-run blindly"
    ctx.close()
    # The next attempt (a workflow retry, an operator) reads crm_mon before deciding.
    ops.forget_probes()
    ctx = make_ctx(cluster_node)
    data = ops.set_node_standby(ctx, "server1", True)
    ctx.close()
    assert data["changed"] is False and data["standby"] is True
    assert crm_calls(cluster_node) == ["node standby server1"], "standby ran a second time"
    first_argv = [c["argv"] for c in ctx.commands]
    assert ["crm_mon", "-1", "--output-as=xml"] in first_argv
    assert not [a for a in first_argv if a[:2] == ["crm", "node"]]
    COUNTS["standby_dropped"] = ("SSH_CONNECT_FAILED; not re-run; the retry read crm_mon, "
                                 "saw standby, ran nothing")
