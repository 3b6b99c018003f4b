"""Connection reuse across SSHTransport objects (transport.pool), against a REAL sshd.

What a user would notice: a second action to the same node does not log in again; a
connection that died while idle in the pool is replaced without the command running twice;
a drop while a command runs is still reported, never retried; different connection
parameters never share a connection; close() and interpreter exit release everything.
"""


import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sshd_server as sshd_helper  # noqa: E402
from pacemaker_update.errors import ConnectError, HostKeyError  # noqa: E402
from pacemaker_update.transport import SSHTransport, close_idle_connections  # noqa: E402
from pacemaker_update.transport.pool import POOL, ConnectionPool  # noqa: E402
from sshd_server import SSHDServer  # noqa: E402

sshd_server = sshd_helper.sshd_server

PY = sys.executable


def make(server: SSHDServer, **kwargs: Any) -> SSHTransport:
    options = dict(host="node1", address=server.host, port=server.port, user=server.user,
                   key_file=str(server.client_key), use_agent=False, connect_timeout=5,
                   command_timeout=30)
    options.update(kwargs)
    if "known_hosts" not in options:  # the property rewrites the file: only when needed
        options["known_hosts"] = server.known_hosts
    return SSHTransport(**options)  # type: ignore[arg-type]


def logins(server: SSHDServer) -> int:
    return server.log_path.read_text().count("Accepted publickey")


@pytest.fixture(autouse=True)
def empty_pool() -> Iterator[None]:
    close_idle_connections()
    yield
    close_idle_connections()


@pytest.mark.sshd
def test_released_connection_is_reused_by_the_next_transport(sshd_server: SSHDServer) -> None:
    before = logins(sshd_server)
    first = make(sshd_server)
    assert first.run(["echo", "one"]).stdout == "one\n"
    first.release()
    assert POOL.idle_count() == 1
    second = make(sshd_server)
    assert second.run(["echo", "two"]).stdout == "two\n"
    assert (second.connect_count, second.pooled_count) == (0, 1)
    assert POOL.idle_count() == 0  # held by `second` while it lives
    second.release()
    assert logins(sshd_server) - before == 1


@pytest.mark.sshd
def test_other_connection_parameters_never_share(sshd_server: SSHDServer) -> None:
    first = make(sshd_server)
    assert first.run(["true"]).ok
    first.release()
    other = make(sshd_server, connect_timeout=6)
    assert other.run(["true"]).ok
    assert (other.connect_count, other.pooled_count) == (1, 0)
    other.close()
    assert POOL.idle_count() == 1  # close() does not feed the pool


@pytest.mark.sshd
def test_connection_dropped_while_idle_is_replaced(sshd_server: SSHDServer) -> None:
    first = make(sshd_server)
    assert first.run(["true"]).ok
    first.release()
    assert sshd_server.drop_connections() > 0
    time.sleep(0.3)
    second = make(sshd_server)
    assert second.run(["echo", "again"]).stdout == "again\n"
    assert second.connect_count == 1
    second.close()


@pytest.mark.sshd
def test_silently_dead_idle_connection_fails_its_check_and_reconnects(
        sshd_server: SSHDServer) -> None:
    """A peer that stopped answering (crashed node, cut network) but whose TCP connection
    still looks open: the alive check (first session, short timeout) replaces it."""
    marker = f"pu-pool-{uuid.uuid4().hex}"
    first = make(sshd_server)
    assert first.run(["true"]).ok
    first.release()
    frozen = sshd_helper._freeze_descendants(sshd_server.pid)
    try:
        second = make(sshd_server)
        start = time.monotonic()
        result = second.run([PY, "-c", "import sys; print(sys.argv[1])", marker])
        assert result.stdout == f"{marker}\n"
        assert (second.pooled_count, second.connect_count) == (1, 1)
        assert time.monotonic() - start < 4.5  # the check waited ~1 s, not connect_timeout
        second.close()
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.sshd
def test_reconnect_after_a_failed_check_reads_known_hosts_again(sshd_server: SSHDServer) -> None:
    """A node rebuilt with a new host key while its old connection idled in the pool: the
    reconnect verifies against known_hosts as it is now, not the pooled client's copy."""
    known = sshd_server.write_known_hosts("known_hosts_pool", sshd_server.host_key_line())
    idle = [make(sshd_server, known_hosts=known) for _ in range(2)]
    for transport in idle:
        assert transport.run(["true"]).ok
    for transport in idle:
        transport.release()
    assert POOL.idle_count() == 2
    frozen = sshd_helper._freeze_descendants(sshd_server.pid)
    try:
        sshd_server.write_known_hosts("known_hosts_pool", sshd_server.host_key_line(other=True))
        second = make(sshd_server, known_hosts=known)
        with pytest.raises(HostKeyError):
            second.run(["true"])
        assert second.pooled_count == 1 and POOL.idle_count() == 0  # the other one too
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.sshd
def test_drop_while_a_command_runs_on_a_pooled_connection_is_not_retried(
        sshd_server: SSHDServer) -> None:
    marker = f"pu-pool-drop-{uuid.uuid4().hex}"
    first = make(sshd_server)
    assert first.run(["true"]).ok
    first.release()
    second = make(sshd_server)

    def drop_once_running() -> None:
        deadline = time.monotonic() + 20
        while not _running(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        sshd_server.drop_connections()

    dropper = threading.Thread(target=drop_once_running)
    dropper.start()
    try:
        with pytest.raises(ConnectError) as info:
            second.run([PY, "-c", "import time; time.sleep(20)", marker], timeout=30)
    finally:
        dropper.join()
    assert "not retried" in info.value.message
    assert (second.pooled_count, second.connect_count) == (1, 0)  # no second run
    second.release()
    assert POOL.idle_count() == 0  # a dead connection is not kept


@pytest.mark.sshd
def test_concurrent_transports_each_hold_their_own_connection(sshd_server: SSHDServer) -> None:
    errors: List[BaseException] = []
    outputs: List[str] = []
    known = sshd_server.known_hosts  # the property rewrites the file: once, not per thread

    def worker(n: int) -> None:
        try:
            for i in range(4):
                transport = make(sshd_server, known_hosts=known)
                outputs.append(transport.run(["echo", f"{n}-{i}"]).stdout)
                transport.release()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(outputs) == sorted(f"{n}-{i}\n" for n in range(4) for i in range(4))
    kept = POOL.idle_count()
    assert 1 <= kept <= 4
    assert close_idle_connections() == kept


@pytest.mark.sshd
def test_close_idle_connections_logs_out(sshd_server: SSHDServer) -> None:
    first = make(sshd_server)
    assert first.run(["true"]).ok
    first.release()
    assert close_idle_connections() == 1
    assert POOL.idle_count() == 0
    again = make(sshd_server)
    assert again.run(["true"]).ok and again.connect_count == 1
    again.close()


def _running(marker: str) -> bool:
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(entry) != os.getpid() and \
                    marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


class FakeClient:
    """Stand-in for paramiko.SSHClient in the pool's bookkeeping tests (no network)."""

    def __init__(self, active: bool = True) -> None:
        self.active, self.closed = active, False

    def get_transport(self) -> Any:
        return self

    def is_active(self) -> bool:
        return self.active and not self.closed

    def close(self) -> None:
        self.closed = True


def test_pool_keeps_at_most_max_idle_and_closes_the_rest() -> None:
    pool = ConnectionPool(max_idle=2)
    clients = [FakeClient() for _ in range(3)]
    assert [pool.give("k", c) for c in clients] == [True, True, False]
    assert clients[2].closed and pool.idle_count() == 2
    assert pool.take("k") is clients[1]  # most recently used first
    assert pool.take("other") is None


def test_pool_drops_dead_and_expired_connections() -> None:
    pool = ConnectionPool(idle_seconds=0.05)
    dead, old = FakeClient(), FakeClient()
    assert pool.give("k", dead)
    dead.active = False
    assert pool.take("k") is None and dead.closed
    assert not pool.give("k", FakeClient(active=False))
    assert pool.give("k", old)
    time.sleep(0.1)
    assert pool.take("k") is None and old.closed


def test_forked_child_forgets_the_parents_connections() -> None:
    pool = ConnectionPool()
    client = FakeClient()
    pool.give("k", client)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not use (or close) the parent's connection
        found = pool.take("k")
        os.write(write, b"none" if found is None and not client.closed else b"used")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"none"
    os.close(read)
    os.close(write)
    assert pool.take("k") is client
