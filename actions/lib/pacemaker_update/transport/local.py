"""Run commands on this machine: subprocess, argv lists, shell=False."""


import contextlib
import os
import signal
import subprocess
import time
from typing import Dict, Optional, Tuple

from pacemaker_update.errors import CommandTimeoutError
from pacemaker_update.transport.base import Result, Transport, sudo_argv

_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def build_environment(extra: Dict[str, str]) -> Dict[str, str]:
    """The explicit environment of a local command.

    Only PATH and HOME are inherited: the caller's environment (an st2 action runner's, say)
    can hold tokens and secrets that cluster tools have no business seeing. LC_ALL=C/LANG=C
    because we parse tool output and sudo's messages, which are translated in other locales.
    """
    env = {"PATH": os.environ.get("PATH") or _DEFAULT_PATH, "LC_ALL": "C", "LANG": "C"}
    if os.environ.get("HOME"):
        env["HOME"] = os.environ["HOME"]
    env.update(extra)
    return env


class LocalTransport(Transport):
    """Commands on the local host (the CLI's own node, the lab, tests)."""

    def __init__(self, host: str = "localhost", sudo: bool = False,
                 default_timeout: float = 120.0) -> None:
        self.host = host
        self.sudo = sudo
        self.default_timeout = default_timeout

    def _execute(self, argv: Tuple[str, ...], timeout: float, sudo: bool,
                 env: Dict[str, str], stdin: Optional[str]) -> Result:
        command = sudo_argv(argv) if sudo else list(argv)
        started_at, start = time.time(), time.monotonic()
        try:
            proc = subprocess.Popen(
                command, shell=False, env=build_environment(env),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: a timeout kills its children too
            )
        except OSError as exc:
            # Same as a shell would report it (rc 127/126), so a missing tool is data on
            # both transports.
            rc = 127 if isinstance(exc, FileNotFoundError) else 126
            message = f"failed to run command '{command[0]}': {exc.strerror}\n"
            return Result(self.host, argv, rc, "", message, time.monotonic() - start, started_at)
        out, err = self._communicate(proc, argv, timeout, stdin)
        return Result(self.host, argv, proc.returncode, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace"), time.monotonic() - start, started_at)

    def _communicate(self, proc: subprocess.Popen, argv: Tuple[str, ...],  # type: ignore[type-arg]
                     timeout: float, stdin: Optional[str]) -> Tuple[bytes, bytes]:
        data = stdin.encode("utf-8") if stdin is not None else None
        try:
            # communicate() reads both pipes concurrently: a full stderr pipe cannot block.
            return proc.communicate(data, timeout=timeout)  # type: ignore[no-any-return]
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            # Reap; a grandchild that left the group may still hold the pipes open.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=5)
            raise CommandTimeoutError(
                f"{argv[0]} did not finish within {timeout:g}s on {self.host}",
                details=self.details(argv, timeout=timeout),
            ) from None
