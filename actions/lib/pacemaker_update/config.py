"""The pack / CLI configuration: which clusters exist and how to reach their nodes.

One file, two readers: StackStorm hands the pack config (``configs/pacemaker_update.yaml``,
defaults already filled by st2) to every action as ``self.config``; the CLI reads the same
YAML from ``--config PATH``, ``$PACEMAKER_UPDATE_CONFIG`` or
``~/.config/pacemaker_update/config.yaml``. Both go through :func:`load_config`, which
validates against the pack's own ``config.schema.yaml`` (st2 dialect, converted to plain
JSON schema here), fills the schema's defaults, then checks what a schema cannot say (node
names, addresses, duplicates, cron windows). Every problem is collected, and one
``ConfigError`` names each key path and what is wrong with it. Secrets never appear in
messages or reprs. The transport layer is imported only when a transport is built, so the
config can be loaded and checked without paramiko.
"""

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import yaml

# load_st2_schema, SCHEMA_PATH, SECRET_KEYS, format_path stay importable from here
from pacemaker_update.configcheck import (  # noqa: F401
    SCHEMA_PATH,
    SECRET_KEYS,
    SafeLoader,
    cluster_problems,
    file_key,
    format_path,
    load_st2_schema,
    schema_problems,
)
from pacemaker_update.errors import ConfigError, InvalidInputError
from pacemaker_update.st2compat import assign_schema_defaults, st2_schema_to_json_schema

ENV_CONFIG = "PACEMAKER_UPDATE_CONFIG"
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SSHSettings:
    """Effective SSH settings of one node (cluster settings merged with node overrides)."""

    user: str = "root"
    port: int = 22
    key_file: Optional[str] = None
    use_agent: bool = True
    known_hosts: Optional[str] = None
    allow_unknown_host_keys: bool = False
    sudo: bool = False
    password: Optional[str] = field(default=None, repr=False)
    connect_timeout: float = 10
    command_timeout: float = 120


@dataclass(frozen=True)
class NodeConfig:
    name: str
    address: str
    ssh: SSHSettings


@dataclass(frozen=True)
class MaintenanceWindow:
    start: str
    duration_minutes: int
    timezone: str = "UTC"


@dataclass(frozen=True)
class ScheduledUpdate:
    """``clusters.<name>.scheduled_update``: the update a maintenance window starts."""

    method: str
    enabled: bool = True
    packages: Tuple[str, ...] = ()
    all_packages: bool = False
    failback: Optional[str] = None
    approve: Optional[str] = None

    def update_parameters(self, cluster: str) -> Dict[str, Any]:
        """update_cluster parameters (unset optional keys left to the workflow's defaults)."""
        params: Dict[str, Any] = {"cluster": cluster, "method": self.method}
        if self.packages:
            params["packages"] = list(self.packages)
        if self.all_packages:
            params["all_packages"] = True
        for key in ("failback", "approve"):
            if getattr(self, key) is not None:
                params[key] = getattr(self, key)
        return params


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    nodes: Tuple[NodeConfig, ...]
    ssh: SSHSettings
    frontend: str = "auto"
    package_manager: str = "auto"
    on_unexpected_failover: str = "pause"
    chat_route: Optional[str] = None
    maintenance_windows: Tuple[MaintenanceWindow, ...] = ()
    window_step_estimate_minutes: int = 30
    window_safety_margin_minutes: int = 5
    description: str = ""
    scheduled_update: Optional[ScheduledUpdate] = None

    @property
    def node_names(self) -> Tuple[str, ...]:
        """Node names in declared order."""
        return tuple(node.name for node in self.nodes)

    def node(self, name: str) -> NodeConfig:
        """The node called ``name``; unknown → InvalidInputError UNKNOWN_NODE (lists the known)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise InvalidInputError(
            f"node {name!r} is not in cluster {self.name!r} (known: {', '.join(self.node_names)})",
            code="UNKNOWN_NODE",
            details={"cluster": self.name, "node": name, "known": list(self.node_names)},
        )

    def transport_for(self, node_name: str) -> Any:
        """An SSHTransport to ``node_name`` built from its effective settings (not connected)."""
        node = self.node(node_name)
        from pacemaker_update.transport import SSHTransport  # lazy: see module doc

        s = node.ssh
        return SSHTransport(
            node.name, node.address, port=s.port, user=s.user, key_file=s.key_file,
            use_agent=s.use_agent, known_hosts=s.known_hosts,
            allow_unknown_host=s.allow_unknown_host_keys, sudo=s.sudo, password=s.password,
            connect_timeout=s.connect_timeout, command_timeout=s.command_timeout,
        )


@dataclass(frozen=True)
class PackConfig:
    clusters: Tuple[ClusterConfig, ...]
    source: Optional[str] = None

    @property
    def cluster_names(self) -> Tuple[str, ...]:
        return tuple(cluster.name for cluster in self.clusters)

    def cluster(self, name: str) -> ClusterConfig:
        """The cluster profile ``name``; unknown → InvalidInputError UNKNOWN_CLUSTER."""
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise InvalidInputError(
            f"cluster {name!r} is not configured (known: {', '.join(self.cluster_names)})",
            code="UNKNOWN_CLUSTER",
            details={"cluster": name, "known": list(self.cluster_names)},
            hint="add it under clusters: in the pack config, or use one of the known names",
        )


def _to_plain(value: Any) -> Any:
    """Deep copy of a Mapping/sequence tree into dicts and lists (st2 passes PackConfigDict)."""
    if isinstance(value, Mapping):
        return {key: _to_plain(sub) for key, sub in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(sub) for sub in value]
    return value


def load_config(data: Mapping[str, Any], source: Optional[str] = None) -> PackConfig:
    """Validate a config mapping and build the frozen :class:`PackConfig`.

    All problems (schema and semantic) are gathered into one ConfigError CONFIG_INVALID
    whose message names the first key path and whose details list every problem.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping with a clusters: key, got "
                          + type(data).__name__, details={"source": source})
    key = _config_key(data, source)
    if key is not None and key in _LOADED:
        return _LOADED[key]
    loaded = _load_config(data, source)
    if key is not None:
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[key] = loaded
    return loaded


# Valid configs already built in this process: every action of a run loads the same config
# (the PackConfig is frozen, so sharing it is safe). Keyed on the exact data, the source
# and the schema file's version (an edited schema is validated against again).
_LOADED: Dict[Tuple[Any, ...], "PackConfig"] = {}


def _config_key(data: Mapping[str, Any], source: Optional[str]) -> Optional[Tuple[Any, ...]]:
    plain = _to_plain(data)
    try:
        json.dumps(plain)  # plain JSON types only; repr tells 1 from "1", json would not
        return (file_key(SCHEMA_PATH), source, repr(plain))
    except (TypeError, ValueError, OSError):
        return None  # not plain JSON data or no schema file: validate without caching


def _load_config(data: Mapping[str, Any], source: Optional[str]) -> "PackConfig":
    st2_schema = load_st2_schema()
    instance = assign_schema_defaults(_to_plain(data), {"properties": st2_schema})
    problems = schema_problems(instance, st2_schema_to_json_schema(st2_schema))
    clusters = instance.get("clusters")
    if isinstance(clusters, dict):
        for name, cluster in clusters.items():
            problems.extend(cluster_problems(str(name), cluster))
    if problems:
        where = f" in {source}" if source else ""
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ConfigError(
            f"invalid configuration{where}: {problems[0][0]}: {problems[0][1]}{more}",
            details={"source": source,
                     "problems": [{"path": p, "message": m} for p, m in problems]},
            hint="fix the listed keys; config.schema.yaml and pacemaker_update.yaml.example "
                 "describe every key",
        )
    return PackConfig(tuple(_build_cluster(n, c) for n, c in clusters.items()), source)


def _build_cluster(name: str, data: Mapping[str, Any]) -> ClusterConfig:
    ssh = SSHSettings(**data["ssh"])
    nodes = tuple(NodeConfig(n["name"], n["address"], replace(ssh, **n.get("ssh", {})))
                  for n in data["nodes"])
    windows = tuple(MaintenanceWindow(**w) for w in data.get("maintenance_windows", []))
    return ClusterConfig(
        name=name, nodes=nodes, ssh=ssh, frontend=data["frontend"],
        package_manager=data["package_manager"],
        on_unexpected_failover=data["on_unexpected_failover"],
        chat_route=data.get("chat_route"), maintenance_windows=windows,
        window_step_estimate_minutes=data.get("window_step_estimate_minutes", 30),
        window_safety_margin_minutes=data.get("window_safety_margin_minutes", 5),
        description=data.get("description", ""),
        scheduled_update=_build_scheduled(data.get("scheduled_update")),
    )


def _build_scheduled(data: Optional[Mapping[str, Any]]) -> Optional[ScheduledUpdate]:
    if not data:
        return None
    return ScheduledUpdate(
        method=data["method"], enabled=data.get("enabled", True),
        packages=tuple(data.get("packages") or ()),
        all_packages=bool(data.get("all_packages", False)),
        failback=data.get("failback"), approve=data.get("approve"))


def build_adhoc_cluster(nodes: Sequence[Any], name: str = "adhoc") -> ClusterConfig:
    """A ClusterConfig from explicit nodes (names, or ``{name, address, ssh}`` mappings).

    Goes through :func:`load_config`, so explicit nodes get exactly the validation and the
    defaults a configured cluster gets; a bare name is also its address.
    """
    entries = [{"name": n, "address": n} if isinstance(n, str) else n for n in nodes]
    try:
        return load_config({"clusters": {name: {"nodes": entries}}}).cluster(name)
    except ConfigError as exc:
        problems = exc.details.get("problems", [])
        for problem in problems:
            problem["path"] = problem["path"].replace(f"clusters.{name}.", "", 1)
        first = problems[0] if problems else {"path": "nodes", "message": exc.message}
        raise InvalidInputError(f"invalid nodes: {first['path']}: {first['message']}",
                                code="INVALID_NODES", details={"problems": problems}) from exc


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that rejects a mapping key given twice (YAML would keep the last silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                line = node.start_mark.line + 1
                raise ConfigError(f"duplicate key {key!r} in the mapping at line {line}",
                                  details={"key": str(key), "line": line})
        return super().construct_mapping(node, deep=deep)


def load_config_file(path: Union[str, Path]) -> PackConfig:
    """Read a YAML config file (the CLI's, or st2's configs/pacemaker_update.yaml)."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}",
                          code="CONFIG_NOT_FOUND", details={"path": str(path)}) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", details=exc.details) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}",
                          details={"path": str(path)}) from exc
    return load_config(data if data is not None else {}, source=str(path))


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/pacemaker_update/config.yaml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "pacemaker_update" / "config.yaml"


def find_config_file(explicit: Optional[Union[str, Path]] = None) -> Path:
    """The CLI's config file: ``explicit`` (--config), else $PACEMAKER_UPDATE_CONFIG, else default.

    An explicitly named file that does not exist is an error, never silently replaced by
    another file; ConfigError CONFIG_NOT_FOUND says what was tried.
    """
    named = explicit or os.environ.get(ENV_CONFIG)
    candidate = Path(named).expanduser() if named else default_config_path()
    if candidate.is_file():
        return candidate
    origin = "--config" if explicit else (ENV_CONFIG if named else "default location")
    raise ConfigError(
        f"no config file at {candidate} ({origin})", code="CONFIG_NOT_FOUND",
        details={"path": str(candidate), "origin": origin},
        hint="copy pacemaker_update.yaml.example there, or pass --config PATH",
    )
