"""Base of every python action of the pack: params → cluster → ``execute`` → one envelope.

An action file is a thin subclass::

    class SetNodeStandby(ClusterAction):
        def execute(self, ctx, node, state):
            return ops.set_node_standby(ctx, node, state == "on")

``ClusterAction.run(**params)`` returns ``(ok, envelope)``; st2 marks the execution
succeeded/failed from ``ok`` and a workflow reads the envelope as ``result().result``::

    {"ok": bool, "cluster": name, "dry_run": bool,
     "data": {...},                    # what execute() returned (op-specific)
     "commands": [{...}, ...],         # what ran (Result.to_dict()) or would run, per host
     "trace": [{host, argv, rc, dry_run}, ...],  # the same commands without their output
     "warnings": ["...", ...],
     "state_after": {...} | None,      # set by the op when it read crm_mon afterwards
     "error": {"code", "message", "details", "hint"} | None}

Common parameters, consumed here and never passed to ``execute``:
``cluster`` (a profile of the pack config) XOR ``nodes`` (explicit node names or
``{name, address, ssh}`` mappings, validated like a configured cluster), ``dry_run`` (bool),
``wait_timeout`` / ``timeout`` (seconds to wait for an effect, > 0; python-script actions
must call it ``wait_timeout``: st2 gives ``timeout`` to the runner as its kill timer and
never passes it to ``run``). A ``node`` parameter is checked against the cluster and passed on.

The ``ctx`` contract (what ops may rely on):

- ``ctx.cluster`` ClusterConfig; ``ctx.config`` PackConfig or None (explicit nodes);
  ``ctx.dry_run``; ``ctx.timeout`` float or None; ``ctx.logger``.
- ``ctx.transport(node)`` → the node's Transport (cached; closed after the action).
- ``ctx.run(node, argv, timeout=None, sudo=None, mutating=True)`` → Result, recorded in
  ``commands``. In a dry run a mutating command is only recorded (``"planned": true``) and
  ``None`` is returned; read-only commands (``mutating=False``, e.g. crm_mon) still run.
  A transport error is recorded with its code, then re-raised.
- ``ctx.warn(message)`` adds to ``warnings``; ``ctx.state_after = ...`` fills ``state_after``.

A PacemakerUpdateError becomes ``error`` with its code. Any other exception is a bug: it
still yields a coded envelope (INTERNAL_ERROR, traceback in ``details``) and is logged with
its traceback (st2 shows the action's log in stderr). It is returned as ``(False, ...)``
rather than re-raised so that a workflow can branch on ``error.code`` for every failure
and the commands that already ran on the cluster are still reported.
"""

import abc
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from pacemaker_update.config import (
    ClusterConfig,
    PackConfig,
    build_adhoc_cluster,
    find_config_file,
    load_config,
    load_config_file,
)
from pacemaker_update.errors import ConfigError, InvalidInputError, PacemakerUpdateError
from pacemaker_update.st2compat import ST2_ACTION_AVAILABLE, Action
from pacemaker_update.validate import validate_node_name, validate_timeout

TransportFactory = Callable[[ClusterConfig, str], Any]


def _config_transport(cluster: ClusterConfig, node: str) -> Any:
    return cluster.transport_for(node)


class ActionContext:
    """What an operation gets: the cluster, dry-run flag, transports and a command record."""

    def __init__(self, cluster: ClusterConfig, config: Optional[PackConfig] = None,
                 dry_run: bool = False, timeout: Optional[float] = None,
                 transport_factory: TransportFactory = _config_transport,
                 logger: Any = None) -> None:
        self.cluster = cluster
        self.config = config
        self.dry_run = dry_run
        self.timeout = timeout
        self.logger = logger
        self.commands: List[Dict[str, Any]] = []
        self.warnings: List[str] = []
        self.state_after: Optional[Dict[str, Any]] = None
        self._factory = transport_factory
        self._transports: Dict[str, Any] = {}

    def transport(self, node: str) -> Any:
        """The (cached) transport to ``node``; an unknown node is InvalidInputError."""
        if node not in self._transports:
            self.cluster.node(node)
            self._transports[node] = self._factory(self.cluster, node)
        return self._transports[node]

    def run(self, node: str, argv: Sequence[str], timeout: Optional[float] = None,
            sudo: Optional[bool] = None, mutating: bool = True) -> Any:
        """Run ``argv`` on ``node`` and record it; in a dry run only record a mutating one."""
        entry: Dict[str, Any] = {"host": node, "argv": list(argv)}
        if self.dry_run and mutating:
            self.commands.append(dict(entry, planned=True, sudo=sudo))
            return None
        try:
            result = self.transport(node).run(list(argv), timeout=timeout, sudo=sudo)
        except PacemakerUpdateError as exc:
            self.commands.append(dict(entry, error=exc.code, message=exc.message))
            raise
        self.commands.append(result.to_dict())
        return result

    def warn(self, message: str) -> None:
        """Add a warning for the person reading the result (kept in order, no duplicates)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def close(self) -> None:
        """Release every transport opened for this action (an SSH connection goes back to
        the process-wide pool for the next action, see transport.pool); a failure is only
        logged."""
        for node, transport in self._transports.items():
            try:
                done = getattr(transport, "release", None) or getattr(transport, "close", None)
                if done is not None:
                    done()
            except Exception:  # noqa: BLE001 - closing must not hide the action's outcome
                if self.logger is not None:
                    self.logger.warning("closing the transport to %s failed", node, exc_info=True)
        self._transports.clear()


def make_envelope(cluster: Optional[str], dry_run: bool) -> Dict[str, Any]:
    """A failed envelope with every key present (workflows read keys without guards)."""
    return {"ok": False, "cluster": cluster, "dry_run": dry_run, "data": {}, "commands": [],
            "trace": [], "warnings": [], "state_after": None, "error": None}


def command_trace(commands: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """What a workflow keeps of each command in its progress (and its report's plan).

    ``host``, ``argv``, ``rc`` and ``dry_run`` (true for a command a dry run only planned);
    never stdout/stderr (crm_mon XML), which orquesta would copy at every evaluation. Built
    here rather than by a YAQL ``select`` in each workflow step: that reshaping was most of
    the runner's time per step.
    """
    return [{"host": cmd.get("host"), "argv": cmd.get("argv"), "rc": cmd.get("rc"),
             "dry_run": cmd.get("planned", cmd.get("dry_run", False))} for cmd in commands]


def internal_error(exc: BaseException) -> Dict[str, Any]:
    """The ``error`` member for an exception the library did not raise on purpose."""
    return {"code": "INTERNAL_ERROR", "message": f"unexpected {type(exc).__name__}: {exc}",
            "details": {"exception": type(exc).__name__, "traceback": traceback.format_exc()},
            "hint": "this is a bug in pacemaker_update; report it with the traceback"}


class ClusterAction(Action):
    """Base of the pack's python actions; subclasses implement :meth:`execute`."""

    transport_factory: TransportFactory = staticmethod(_config_transport)  # type: ignore

    @abc.abstractmethod
    def execute(self, ctx: ActionContext, **params: Any) -> Optional[Dict[str, Any]]:
        """Do the operation; return the op-specific ``data`` of the envelope."""

    def run(self, **params: Any) -> Tuple[bool, Dict[str, Any]]:
        """st2's entry point: the whole action, always answered with an envelope."""
        cluster_param = params.get("cluster")
        envelope = make_envelope(cluster_param if isinstance(cluster_param, str) else None,
                                 params.get("dry_run") is True)
        ctx: Optional[ActionContext] = None
        try:
            ctx = self.build_context(params)
            envelope["cluster"], envelope["dry_run"] = ctx.cluster.name, ctx.dry_run
            envelope["data"] = self.execute(ctx, **params) or {}
            envelope["ok"] = True
        except PacemakerUpdateError as exc:
            envelope["error"] = exc.to_dict()
        except Exception as exc:  # noqa: BLE001 - see module doc: still a coded envelope
            self.logger.exception("unexpected error in %s", type(self).__name__)
            envelope["error"] = internal_error(exc)
        finally:
            if ctx is not None:
                envelope["commands"], envelope["warnings"] = ctx.commands, ctx.warnings
                envelope["trace"] = command_trace(ctx.commands)
                envelope["state_after"] = ctx.state_after
                ctx.close()
        return envelope["ok"], envelope

    def build_context(self, params: Dict[str, Any]) -> ActionContext:
        """Consume the common parameters from ``params`` (in place) and build the ctx."""
        dry_run = params.pop("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InvalidInputError(f"dry_run must be true or false, got {dry_run!r}",
                                    code="INVALID_INPUT", details={"field": "dry_run"})
        timeout = self._pop_timeout(params)
        cluster_name, nodes = params.pop("cluster", None), params.pop("nodes", None)
        config: Optional[PackConfig] = None
        if cluster_name is not None and nodes is not None:
            raise InvalidInputError("give either cluster or nodes, not both",
                                    code="CONFLICTING_PARAMS", details={"cluster": cluster_name})
        if nodes is not None:
            cluster = self._adhoc_cluster(nodes)
        elif isinstance(cluster_name, str) and cluster_name:
            config = self.pack_config()
            cluster = config.cluster(cluster_name)
        else:
            raise InvalidInputError("the cluster parameter is required (a name under clusters: "
                                    "in the pack config) unless nodes are given",
                                    code="MISSING_CLUSTER", details={"cluster": cluster_name})
        if params.get("node") is not None:
            cluster.node(validate_node_name(params["node"]))
        return ActionContext(cluster, config, dry_run, timeout,
                             type(self).transport_factory, self.logger)

    @staticmethod
    def _pop_timeout(params: Dict[str, Any]) -> Optional[float]:
        given = {k: params.pop(k) for k in ("wait_timeout", "timeout") if params.get(k) is not None}
        params.pop("wait_timeout", None)
        params.pop("timeout", None)
        if len(given) > 1:
            raise InvalidInputError("give wait_timeout or timeout, not both",
                                    code="CONFLICTING_PARAMS", details=given)
        for name, value in given.items():
            return validate_timeout(value, field=name)
        return None

    @staticmethod
    def _adhoc_cluster(nodes: Any) -> ClusterConfig:
        if not isinstance(nodes, (list, tuple)) or not nodes:
            raise InvalidInputError("nodes must be a non-empty list of node names",
                                    code="INVALID_NODES", details={"nodes": repr(nodes)[:200]})
        return build_adhoc_cluster(nodes)

    def pack_config(self) -> PackConfig:
        """The validated pack config: st2's ``self.config``, else (outside st2) the CLI file."""
        cached = getattr(self, "_pack_config", None)
        if cached is not None:
            return cached
        if self.config:
            loaded = load_config(self.config, source="pack config")
        elif not ST2_ACTION_AVAILABLE:
            loaded = load_config_file(find_config_file())
        else:
            raise ConfigError(
                "the pacemaker_update pack has no configuration", code="CONFIG_MISSING",
                hint="copy pacemaker_update.yaml.example to /opt/stackstorm/configs/"
                     "pacemaker_update.yaml and run: st2ctl reload --register-configs")
        self._pack_config = loaded
        return loaded
