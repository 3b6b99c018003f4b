"""The checks behind :func:`pacemaker_update.config.load_config`.

The pack's ``config.schema.yaml`` (st2 dialect) as JSON schema, then what a schema cannot
say: node names and addresses, duplicates, SSH timeouts, cron windows and their zones,
scheduled updates. Each check returns ``(key path, message)`` problems; none raises, so one
ConfigError can list them all. Secret values never appear in a message.
"""

import copy
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import jsonschema
import yaml

from pacemaker_update.errors import ConfigError, InvalidInputError
from pacemaker_update.validate import (
    validate_hostname_or_address,
    validate_node_name,
    validate_package_name,
    validate_timeout,
)

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "config.schema.yaml"
SECRET_KEYS = frozenset(["password"])
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_CRON_FIELD = re.compile(r"^[A-Za-z0-9*/,-]+$")
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
Problem = Tuple[str, str]


# libyaml's parser when PyYAML was built with it (several times faster), else pure Python
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FileKey = Tuple[str, int, int, int]
_SCHEMAS: Dict[str, Tuple[FileKey, Dict[str, Any]]] = {}


def file_key(path: Union[str, Path]) -> FileKey:
    """(path, mtime in ns, size, inode) of a file: changes whenever the file is rewritten."""
    info = os.stat(path)
    return (str(path), info.st_mtime_ns, info.st_size, info.st_ino)


def load_st2_schema(path: Path = SCHEMA_PATH) -> Dict[str, Any]:
    """The pack's config.schema.yaml as st2 sees it (attribute name → st2 property schema).

    Parsed once per process per file version (every action call loads the config, and the
    parse dominated it); an edited file has another :func:`file_key` and is read again.
    Each caller gets its own copy.
    """
    try:
        key = file_key(path)
        cached = _SCHEMAS.get(str(path))
        if cached is None or cached[0] != key:
            with open(path, encoding="utf-8") as handle:
                cached = (key, dict(yaml.load(handle, Loader=SafeLoader)))  # noqa: S506
            _SCHEMAS[str(path)] = cached
    except OSError as exc:
        raise ConfigError(f"cannot read the config schema {path}: {exc}",
                          code="CONFIG_SCHEMA_MISSING", details={"path": str(path)}) from exc
    return copy.deepcopy(cached[1])


def format_path(parts: Sequence[Union[str, int]]) -> str:
    """``['clusters', 'prod', 'nodes', 1, 'address']`` → ``clusters.prod.nodes[1].address``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(top level)"


def schema_problems(instance: Any, schema: Mapping[str, Any]) -> List[Problem]:
    problems: List[Problem] = []
    validator = jsonschema.Draft4Validator(schema)
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = [n for n in error.validator_value if n not in (error.instance or {})]
            problems.extend((format_path(path + [n]), "is required") for n in missing)
        elif error.validator == "additionalProperties" and error.validator_value is False:
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed), key=str):
                problems.append((format_path(path + [key]),
                                 f"unknown key (allowed: {', '.join(allowed)})"))
        elif path and path[-1] in SECRET_KEYS:
            problems.append((format_path(path), f"invalid {error.validator} (value hidden)"))
        else:
            problems.append((format_path(path), error.message))
    return problems


def _check_window(window: Mapping[str, Any]) -> List[Tuple[str, str]]:
    out = []
    fields = str(window.get("start", "")).split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        out.append(("start", f"{window.get('start')!r} is not a 5-field cron expression"))
    tz = window.get("timezone", "UTC")
    if not isinstance(tz, str) or not _TIMEZONE.match(tz) or not _zone_exists(tz):
        out.append(("timezone", f"{tz!r} is not an IANA time zone name"))
    return out


def _zone_exists(name: str) -> bool:
    try:
        import zoneinfo  # Python 3.9+; on 3.8 the name's shape is all we can check
    except ImportError:
        return True
    try:
        zoneinfo.ZoneInfo(name)
        return True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False


def _check(validator: Any, value: Any, path: List[Any], problems: List[Problem]) -> None:
    """Run one validate.py validator; record its message under ``path`` instead of raising."""
    try:
        validator(value, field=str(path[-1]))
    except InvalidInputError as exc:
        problems.append((format_path(path), exc.message))


def _node_problems(nodes: Any, base: List[Any]) -> List[Problem]:
    problems: List[Problem] = []
    first_index: Dict[str, int] = {}
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        if not isinstance(node, dict):
            continue
        where = base + ["nodes", index]
        name = node.get("name")
        if isinstance(name, str):
            _check(validate_node_name, name, where + ["name"], problems)
            if name in first_index:
                problems.append((format_path(where + ["name"]),
                                 f"duplicate node name {name!r} (also nodes[{first_index[name]}])"))
            first_index.setdefault(name, index)
        if isinstance(node.get("address"), str):
            _check(validate_hostname_or_address, node["address"], where + ["address"], problems)
        problems.extend(_ssh_problems(node.get("ssh"), where + ["ssh"]))
    return problems


def _ssh_problems(ssh: Any, base: List[Any]) -> List[Problem]:
    problems: List[Problem] = []
    if isinstance(ssh, dict):
        for key in ("connect_timeout", "command_timeout"):
            if isinstance(ssh.get(key), int) and not isinstance(ssh[key], bool):
                _check(validate_timeout, ssh[key], base + [key], problems)
    return problems


def _scheduled_problems(entry: Any, manager: Any, base: List[Any]) -> List[Problem]:
    """What the schema cannot say: exactly one of packages / all_packages, valid names."""
    if not isinstance(entry, dict):
        return []
    packages = entry.get("packages") or []
    every = entry.get("all_packages") is True
    problems: List[Problem] = []
    if entry.get("enabled", True) is not False and bool(packages) == every:
        problems.append((format_path(base), "give exactly one of packages (a non-empty list) "
                         "or all_packages: true"))
    check_as = manager if manager in ("yum", "dnf", "zypper", "apt") else "rpm"
    for index, name in enumerate(packages if isinstance(packages, list) else []):
        if isinstance(name, str) and check_as == "rpm":
            # manager auto: a name must be valid for rpm or for dpkg
            try:
                validate_package_name(name, "dpkg")
                continue
            except InvalidInputError:
                pass
        _check(lambda v, field: validate_package_name(v, check_as, field), name,
               base + ["packages", index], problems)
    return problems


def cluster_problems(name: str, cluster: Any) -> List[Problem]:
    base: List[Any] = ["clusters", name]
    problems: List[Problem] = []
    if not _CLUSTER_NAME.match(name):
        problems.append((format_path(base), "cluster name must be 1-63 letters, digits, '_' "
                         "or '-', starting with a letter or digit"))
    if not isinstance(cluster, dict):
        return problems
    problems.extend(_node_problems(cluster.get("nodes"), base))
    problems.extend(_ssh_problems(cluster.get("ssh"), base + ["ssh"]))
    for index, window in enumerate(cluster.get("maintenance_windows") or []):
        if isinstance(window, dict):
            where = base + ["maintenance_windows", index]
            problems.extend((format_path(where + [k]), m) for k, m in _check_window(window))
    problems.extend(_scheduled_problems(cluster.get("scheduled_update"),
                                        cluster.get("package_manager"),
                                        base + ["scheduled_update"]))
    return problems
