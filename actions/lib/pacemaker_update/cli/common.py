"""What every CLI command shares: config loading, the engine, output, exit codes."""

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

import yaml

from pacemaker_update.configcheck import SafeLoader
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError

EXIT_OK = 0
EXIT_USAGE = 2


def load_raw_config(path: Optional[str]) -> Dict[str, Any]:
    """The pack config YAML as a plain mapping (what actions get as ``self.config``)."""
    if not path:
        return {}
    try:
        with open(path) as handle:
            data = yaml.load(handle, Loader=SafeLoader) or {}  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise PacemakerUpdateError(
            f"Cannot read config {path}: {exc}", code="CONFIG_INVALID"
        ) from exc
    if not isinstance(data, dict):
        raise PacemakerUpdateError(f"Config {path} is not a mapping", code="CONFIG_INVALID")
    return data


def load_cluster(name: str, config_path: Optional[str]) -> Any:
    """The validated ClusterConfig of ``name`` (--config, $PACEMAKER_UPDATE_CONFIG or default)."""
    from pacemaker_update.config import find_config_file, load_config_file

    return load_config_file(find_config_file(config_path)).cluster(name)


def make_engine(args: argparse.Namespace) -> Any:
    """An Engine for the command's pack, state dir and config; progress goes to stderr."""
    from pacemaker_update.engine import Engine
    from pacemaker_update.engine.display import make_renderer, tty_prompt

    interactive = sys.stdin.isatty() and sys.stderr.isatty() and not args.json
    return Engine(
        pack_dir=args.pack_dir,
        state_dir=args.state_dir,
        config=load_raw_config(getattr(args, "config", None)),
        on_event=make_renderer(sys.stderr),
        auto_approve=getattr(args, "yes", False),
        prompt=tty_prompt if interactive else None,
    )


def parse_pairs(declared: Dict[str, Any], pairs: List[str], cast: Any) -> Dict[str, Any]:
    """``--param K=V`` pairs, each cast to its declared type."""
    out: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--param wants K=V, got {pair!r}")
        out[key] = cast(declared, key, value)
    return out


def parse_listen(text: Optional[str]) -> Optional[Any]:
    """``HOST:PORT`` (``[::1]:8765`` for IPv6; port 0 = any free port) → (host, port)."""
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInputError(
            f"--listen wants HOST:PORT (e.g. 127.0.0.1:8765), got {text!r}",
            code="INVALID_LISTEN",
            details={"field": "listen", "value": text},
        )
    return host, int(port)


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as one JSON document with --json, else ``text``."""
    sys.stdout.write(
        (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n") if args.json else text
    )
    sys.stdout.flush()
