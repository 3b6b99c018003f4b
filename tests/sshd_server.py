"""A real OpenSSH server on 127.0.0.1 for tests: own host key, own authorized_keys, own config.

Use ``SSHDServer`` as a context manager, or the session-scoped pytest fixture ``sshd_server``
(import it into a test module or conftest). Everything lives in a temporary directory; the
server and every process it forked are killed on exit, also when a test failed.

Running as root, sshd needs its privilege-separation directory ``/run/sshd`` (the openssh
package normally creates it at boot); it is created if missing, nothing else is changed.
"""


import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
AddressFamily inet
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
MaxStartups 200
MaxSessions 50
LogLevel VERBOSE
"""


def find_free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (sshd start retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _children(pid: int) -> List[int]:
    """Every descendant of ``pid`` (read from /proc), so stop() leaves no session behind."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: List[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        kids = [p for p, pp in parents.items() if pp == current]
        found.extend(kids)
        todo.extend(kids)
    return found


def _kill(pids: List[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _freeze_descendants(pid: int) -> List[int]:
    """Stop (SIGSTOP) every descendant of ``pid`` until no new one appears, and return them.

    Killing from a single snapshot races with a session that forks right then (the login
    shell starting the command): the new child is not in the snapshot, outlives its killed
    parent and is re-parented away, so a "dropped" command would keep running. A stopped
    process cannot fork, so once a pass finds nothing new the tree is complete.
    """
    frozen: List[int] = []
    while True:
        new = [kid for kid in _children(pid) if kid not in frozen]
        if not new:
            return frozen
        for kid in new:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kid, signal.SIGSTOP)
        frozen.extend(new)


class SSHDServer:
    """sshd on 127.0.0.1:<free port>, accepting ``client_key`` for the current user."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pu-sshd-"))
        self.host = "127.0.0.1"
        self.port = 0
        self.user = getpass.getuser()
        self.client_key = self.dir / "client_ed25519"
        self.other_key = self.dir / "other_ed25519"  # valid key, not authorized
        self.host_key = self.dir / "host_ed25519"
        self.other_host_key = self.dir / "other_host_ed25519"  # a different host's key
        self.log_path = self.dir / "sshd.log"
        # SetEnv of every session. SHLVL=1 makes the session's bash a nested shell, which
        # does not source ~/.bashrc: root's .bashrc on these machines runs `pyenv init`, i.e.
        # `pyenv rehash` under a lock file, and a session killed half-way (the drop tests)
        # left that lock behind, so every later SSH command waited on it until it timed out
        # (17 transport tests at once in a CI-like run). The pack's commands need nothing
        # from it.
        self.session_env: List[str] = ["SHLVL=1"]
        self._proc: Optional[subprocess.Popen] = None  # type: ignore[type-arg]

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "SSHDServer":
        """Generate keys, write the config and start sshd in the foreground; wait until ready."""
        for path, comment in ((self.client_key, "client"), (self.other_key, "other"),
                              (self.host_key, "host"), (self.other_host_key, "other-host")):
            _keygen(path, comment)
        shutil.copy(str(self.client_key) + ".pub", self.dir / "authorized_keys")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        last_error = ""
        for _attempt in range(5):
            self.port = find_free_port()
            (self.dir / "sshd_config").write_text(
                _CONFIG.format(port=self.port, dir=self.dir)
                + f"SetEnv {' '.join(self.session_env)}\n")
            last_error = self._spawn()
            if not last_error:
                return self
        self.stop()
        raise RuntimeError(f"sshd did not start: {last_error}")

    def _spawn(self) -> str:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return self.log_path.read_text(errors="replace")[-2000:]
            if self._banner_ready():
                return ""
            time.sleep(0.05)
        self._stop_process()
        return "timeout waiting for the SSH banner"

    def _banner_ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def _stop_process(self) -> None:
        if self._proc is None:
            return
        self.drop_connections()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(timeout=10)
        self._proc = None

    def stop(self) -> None:
        """Kill sshd and every connection/session process it forked; remove the temp dir."""
        self._stop_process()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "SSHDServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """Pid of the listening sshd."""
        assert self._proc is not None, "sshd is not running"
        return self._proc.pid

    def drop_connections(self) -> int:
        """Kill the per-connection sshd processes and their sessions (clients see a drop).

        Deepest first, then wait until the listener has reaped its children, so no zombie
        sshd is left behind.
        """
        kids = _freeze_descendants(self.pid)
        _kill(list(reversed(kids)))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                os.path.exists(f"/proc/{pid}") for pid in kids):
            time.sleep(0.02)
        return len(kids)

    def host_key_line(self, other: bool = False) -> str:
        """A known_hosts line for this server: its real host key, or another host's key."""
        pub = (self.other_host_key if other else self.host_key).with_suffix(".pub")
        keytype, blob = pub.read_text().split()[:2]
        return f"[{self.host}]:{self.port} {keytype} {blob}\n"

    def write_known_hosts(self, name: str, lines: str) -> str:
        """Write a known_hosts file into the server's temp dir and return its path."""
        path = self.dir / name
        path.write_text(lines)
        return str(path)

    @property
    def known_hosts(self) -> str:
        """Path of a known_hosts file holding this server's real host key."""
        return self.write_known_hosts("known_hosts", self.host_key_line())


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SSHDServer]:
    """One real sshd for the test session, stopped at the end whatever happened."""
    if not os.path.exists(SSHD):
        pytest.skip("openssh-server (sshd) is not installed")
    with SSHDServer() as server:
        yield server
