"""Edge cases of the channel driver with a channel double that models the SSH window.

The proof that SSH works is test_transport_ssh.py (real sshd); this double exists for what a
real server cannot be made to do on demand: a window that stalls the sender, a command that
never ends, a sudo that asks for a password.
"""

import threading
from typing import List, Optional

import pytest
from pacemaker_update.errors import TransportError
from pacemaker_update.transport.channel import run_channel
from pacemaker_update.transport.ssh import SSHTransport


class WindowedChannel:
    """Like an SSH channel: stdout+stderr share one window; the sender stalls when it is full."""

    def __init__(self, stderr: bytes = b"", stdout: bytes = b"", rc: Optional[int] = 0,
                 window: int = 65536) -> None:
        self._cv = threading.Condition()
        self._buffers = {"out": bytearray(), "err": bytearray()}
        self._eof = False
        self._window = window
        self._plan = [("err", stderr), ("out", stdout)]
        self._rc = rc
        self.closed = False
        self.status_event = threading.Event()
        self.exit_status = -1
        self.command = ""
        self.sent = b""

    def exec_command(self, command: str) -> None:
        self.command = command
        threading.Thread(target=self._remote, daemon=True).start()

    def _remote(self) -> None:
        for name, data in self._plan:  # all of stderr first, then stdout
            for i in range(0, len(data), 4096):
                with self._cv:
                    while self._unread() >= self._window and not self.closed:
                        self._cv.wait()  # window full: the remote blocks, like a real one
                    if self.closed:
                        return
                    self._buffers[name] += data[i:i + 4096]
                    self._cv.notify_all()
        if self._rc is None:
            return  # never exits
        with self._cv:
            self._eof = True
            self.exit_status = self._rc
            self._cv.notify_all()
        self.status_event.set()

    def _unread(self) -> int:
        return len(self._buffers["out"]) + len(self._buffers["err"])

    def _recv(self, name: str, size: int) -> bytes:
        with self._cv:
            while not self._buffers[name] and not self._eof and not self.closed:
                self._cv.wait()
            data = bytes(self._buffers[name][:size])
            del self._buffers[name][:size]
            self._cv.notify_all()
            return data

    def recv(self, size: int) -> bytes:
        return self._recv("out", size)

    def recv_stderr(self, size: int) -> bytes:
        return self._recv("err", size)

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown_write(self) -> None:
        pass

    def close(self) -> None:
        with self._cv:
            self.closed = True
            self._cv.notify_all()
        self.status_event.set()


def test_window_full_of_stderr_does_not_deadlock() -> None:
    channel = WindowedChannel(stderr=b"e" * 2_000_000, stdout=b"o" * 100_000, rc=0)
    outcome = run_channel(channel, "cmd", timeout=30)
    assert not outcome.timed_out and outcome.rc == 0
    assert len(outcome.stderr) == 2_000_000 and len(outcome.stdout) == 100_000


def test_never_ending_command_times_out_and_closes_the_channel() -> None:
    channel = WindowedChannel(stdout=b"partial", rc=None)
    outcome = run_channel(channel, "cmd", timeout=0.5, stdin=b"in")
    assert outcome.timed_out and channel.closed and outcome.stdout == b"partial"
    assert channel.sent == b"in"


class FakeChannelSSH(SSHTransport):
    """SSHTransport whose channel comes from a list instead of a connection."""

    def __init__(self, channels: List[WindowedChannel]) -> None:
        super().__init__("node1", "192.0.2.1", sudo=True)
        self.channels = channels

    def _open_channel(self, argv):  # type: ignore[no-untyped-def]
        return self.channels.pop(0)

    def _connected(self) -> bool:
        return True


def test_sudo_password_prompt_over_ssh_is_a_coded_error() -> None:
    channel = WindowedChannel(stderr=b"sudo: a password is required\n", rc=1)
    with pytest.raises(TransportError) as info:
        FakeChannelSSH([channel]).run(["crm", "status"])
    assert info.value.code == "SUDO_PASSWORD_REQUIRED"
    assert info.value.details["argv"] == ["crm", "status"]
    assert "sudo -n -- crm status" in channel.command


def test_killed_by_signal_without_exit_status_is_data() -> None:
    # sshd reports "exit-signal", which paramiko does not turn into a status: rc stays -1.
    channel = WindowedChannel(stderr=b"", rc=-1)
    result = FakeChannelSSH([channel]).run(["crm", "status"], sudo=False)
    assert result.rc == -1 and not result.ok
