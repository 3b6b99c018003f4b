"""How commands reach a node: ``Transport.run(argv) -> Result``, locally or over SSH."""

from pacemaker_update.transport.base import Result, Transport
from pacemaker_update.transport.local import LocalTransport
from pacemaker_update.transport.pool import close_idle_connections
from pacemaker_update.transport.ssh import SSHTransport

__all__ = ["LocalTransport", "Result", "SSHTransport", "Transport", "close_idle_connections"]
