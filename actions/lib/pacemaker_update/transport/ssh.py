"""Run commands on a cluster node over SSH (paramiko), one reused connection per transport.

A transport that is done can ``release()`` its connection to the process-wide pool
(transport.pool) instead of closing it; the next transport with the same connection
parameters reuses it after an alive check. ``close()`` still closes for real.

The remote sshd hands the command to the login shell as a string, so this module is the
only place where argv becomes a string: ``shlex.join``, which quotes every element so the
shell passes it through verbatim. The remote command is::

    env LC_ALL=C [VAR=value...] timeout -k 2 <T> [sudo -n -- [env VAR=value...]] argv...

``env`` because sshd normally refuses client-sent variables (AcceptEnv); LC_ALL=C so tool
output and sudo messages are parseable; ``timeout`` so a timed-out command (its whole process
group) really ends on the node: closing the channel does not kill it, and OpenSSH refuses
"signal" requests for root sessions.
"""


import hashlib
import os
import shlex
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import paramiko

from pacemaker_update.errors import (
    AuthError,
    CommandTimeoutError,
    ConnectError,
    HostKeyError,
    InvalidInputError,
)
from pacemaker_update.transport.base import Result, Transport, sudo_argv
from pacemaker_update.transport.channel import run_channel
from pacemaker_update.transport.pool import CHECK_TIMEOUT, POOL

KILL_AFTER = 2  # seconds between the remote TERM and KILL of a timed-out command
_GRACE = KILL_AFTER + 3.0  # client deadline = remote limit + this, so the node acts first


class _UnknownHostKeyError(paramiko.SSHException):
    pass


class _RejectUnknownHostPolicy(paramiko.MissingHostKeyPolicy):
    """RejectPolicy with its own exception type, so it is told apart from other failures."""

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise _UnknownHostKeyError(hostname, key.get_name(), key.get_base64())


class _PinInMemoryPolicy(paramiko.MissingHostKeyPolicy):
    """Accept an unknown key for this transport's lifetime. Unlike paramiko's AutoAddPolicy,
    never writes it to the known_hosts file (that would make a one-off opt-in permanent)."""

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)


def build_remote_command(argv: Tuple[str, ...], sudo: bool, env: Dict[str, str],
                         timeout: float) -> str:
    """The one string sent to the node for ``argv`` (see the module docstring)."""
    assignments = [f"{name}={value}" for name, value in env.items()]
    words: List[str] = ["env", "LC_ALL=C"]
    if not sudo:
        words += assignments
    words += ["timeout", "-k", str(KILL_AFTER), f"{timeout:.3f}"]
    if sudo:
        # sudo resets the environment, so user variables go behind it.
        words += sudo_argv((["env"] + assignments) if assignments else [])
    return shlex.join(words + list(argv))


class SSHTransport(Transport):
    """Commands on ``host`` (a name for messages) reached at ``address``:``port``."""

    def __init__(self, host: str, address: str, port: int = 22, user: str = "root",
                 key_file: Optional[str] = None, use_agent: bool = True,
                 known_hosts: Optional[str] = None, allow_unknown_host: bool = False,
                 sudo: bool = False, password: Optional[str] = None,
                 connect_timeout: float = 10, command_timeout: float = 120) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInputError("invalid SSH port", details={"host": host, "port": port})
        self.host, self.address, self.port, self.user = host, address, port, user
        self.key_file, self.use_agent, self.password = key_file, use_agent, password
        self.known_hosts, self.allow_unknown_host = known_hosts, allow_unknown_host
        self.sudo, self.connect_timeout = sudo, connect_timeout
        self.default_timeout = command_timeout
        self.connect_count = 0  # how many SSH connections were opened (reuse is visible)
        self.pooled_count = 0  # how many idle connections were taken from the pool
        self._lock = threading.Lock()
        self._client: Optional[paramiko.SSHClient] = None
        self._unchecked = False  # the client came from the pool, no session opened on it yet

    def pool_key(self) -> Tuple[Any, ...]:
        """Every parameter that makes a connection: only an identical one is reused."""
        secret = hashlib.sha256(self.password.encode("utf-8")).hexdigest() \
            if self.password is not None else None
        return (self.address, self.port, self.user, self.key_file, self.use_agent, secret,
                self.known_hosts, self.allow_unknown_host, self.connect_timeout)

    # -- connection -------------------------------------------------------------------------
    def _new_client(self, argv: Tuple[str, ...]) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        try:
            if self.known_hosts is None:
                client.load_system_host_keys()
            elif os.path.exists(self.known_hosts) or not self.allow_unknown_host:
                client.load_host_keys(self.known_hosts)
        except OSError as exc:
            raise HostKeyError(f"cannot read known_hosts {self.known_hosts}: {exc}",
                               details=self.details(argv, known_hosts=self.known_hosts)) from None
        # Unknown keys only on explicit opt-in, pinned in memory: a key that changes between
        # reconnects is still refused.
        client.set_missing_host_key_policy(
            _PinInMemoryPolicy() if self.allow_unknown_host else _RejectUnknownHostPolicy())
        return client

    def _connect(self, argv: Tuple[str, ...]) -> paramiko.Transport:
        if self._client is None:
            pooled = POOL.take(self.pool_key())
            if pooled is not None:
                transport = pooled.get_transport()
                if transport is not None:
                    self._client, self._unchecked = pooled, True
                    self.pooled_count += 1
                    return transport
            self._client = self._new_client(argv)
        details = self.details(argv, address=self.address, port=self.port, user=self.user)
        try:
            self._client.connect(
                self.address, port=self.port, username=self.user, password=self.password,
                key_filename=self.key_file, allow_agent=self.use_agent, look_for_keys=False,
                timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout)
        except Exception as exc:
            self._client.close()
            raise self._connect_error(exc, details) from exc
        self.connect_count += 1
        transport = self._client.get_transport()
        assert transport is not None
        transport.set_keepalive(30)
        return transport

    def _connect_error(self, exc: Exception, details: Dict[str, Any]) -> Exception:
        where = f"{self.host} ({self.user}@{self.address}:{self.port})"
        details["reason"] = str(exc)[:500]
        if isinstance(exc, _UnknownHostKeyError):
            return HostKeyError(f"host key of {where} is not in known_hosts", details=details,
                                hint="add it with ssh-keyscan after checking its fingerprint")
        if isinstance(exc, paramiko.BadHostKeyException):
            return HostKeyError(f"host key of {where} does NOT match known_hosts",
                                details=details, hint="verify the node; the key changed")
        if isinstance(exc, paramiko.AuthenticationException) or (
                isinstance(exc, paramiko.SSHException) and "authentication" in str(exc).lower()):
            return AuthError(f"authentication as {where} failed", details=details,
                             hint="check the key file / agent and authorized_keys")
        if isinstance(exc, (paramiko.SSHException, OSError, EOFError, socket.timeout)):
            return ConnectError(f"cannot connect to {where}: {exc}", details=details)
        return exc

    def _open_channel(self, argv: Tuple[str, ...]) -> paramiko.Channel:
        """A new session channel; reconnects once if the connection dropped meanwhile.

        Retrying is safe only here, before the command was sent: a connection lost after
        exec may have left the command running, so that is reported, never re-run.
        """
        with self._lock:
            for attempt in (1, 2):
                transport = self._client.get_transport() if self._client else None
                if transport is None or not transport.is_active():
                    transport = self._connect(argv)
                # A pooled connection's first session is its alive check: a short wait, as
                # a dead idle connection is simply replaced (nothing was sent yet).
                check = self._unchecked
                self._unchecked = False
                wait = min(self.connect_timeout, CHECK_TIMEOUT) if check else self.connect_timeout
                try:
                    return transport.open_session(timeout=wait)
                except (paramiko.SSHException, OSError, EOFError) as exc:
                    self._drop()
                    if check:
                        # Reconnect with known_hosts read now, not the pooled client's copy:
                        # the node may have been rebuilt with a new key meanwhile.
                        POOL.discard(self.pool_key())
                        self._client = self._new_client(argv)
                    if attempt == 2:
                        raise ConnectError(f"cannot open a session on {self.host}: {exc}",
                                           details=self.details(argv)) from exc
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()

    def close(self) -> None:
        """Close the connection; the next run() connects again."""
        with self._lock:
            self._drop()

    def release(self) -> None:
        """Done for now: hand a live connection to the pool (else close it); run() again
        takes a pooled connection or connects."""
        with self._lock:
            client, self._client, self._unchecked = self._client, None, False
        if client is not None:
            POOL.give(self.pool_key(), client)

    # -- commands ---------------------------------------------------------------------------
    def _execute(self, argv: Tuple[str, ...], timeout: float, sudo: bool,
                 env: Dict[str, str], stdin: Optional[str]) -> Result:
        command = build_remote_command(argv, sudo, env, timeout)
        channel = self._open_channel(argv)
        started_at, start = time.time(), time.monotonic()
        data = stdin.encode("utf-8") if stdin is not None else None
        try:
            outcome = run_channel(channel, command, timeout + _GRACE, data)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectError(
                f"lost {self.host} while starting {argv[0]} (not retried: it may have run)",
                details=self.details(argv)) from exc
        duration = time.monotonic() - start
        # The remote `timeout` ends it with 124 (TERM worked), or its KILL also hits
        # `timeout` itself and sshd reports a signal, which paramiko shows as no exit status.
        remote_limit = duration >= timeout and (
            outcome.rc == 124 or not outcome.exit_status_received)
        if outcome.timed_out or (remote_limit and self._connected()):
            raise CommandTimeoutError(
                f"{argv[0]} did not finish within {timeout:g}s on {self.host}",
                details=self.details(argv, timeout=timeout, sudo=sudo))
        if not outcome.exit_status_received and not self._connected():
            raise ConnectError(
                f"lost {self.host} while {argv[0]} ran (not retried: it may have had effects)",
                details=self.details(argv))
        return Result(self.host, argv, outcome.rc, outcome.stdout.decode("utf-8", "replace"),
                      outcome.stderr.decode("utf-8", "replace"), duration, started_at)

    def _connected(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return transport is not None and transport.is_active()
