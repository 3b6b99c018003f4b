"""The actions a workflow may call: the pack's ``actions/*.yaml`` plus core ones.

Built from the same metadata st2 registers (name, runner_type, entry_point,
parameters) so that the embedded runner and st2 agree on references
(``<pack>.<name>``), defaults, secrets and validation.
"""

import os
from typing import Any, Dict, List, Mapping, Optional

import yaml

from pacemaker_update.configcheck import SafeLoader
from pacemaker_update.engine import params as params_mod
from pacemaker_update.engine.yamlcache import load_yaml
from pacemaker_update.errors import ConfigError, InvalidInputError

SUPPORTED_RUNNERS = ("python-script", "orquesta", "core")

# st2's core actions that workflows use, with the parameters st2 declares.
_ASK_SCHEMA = {
    "type": "object",
    "properties": {
        "approved": {
            "type": "boolean",
            "description": "Check to approve, leave unchecked to reject.",
            "required": True,
        }
    },
}
CORE_ACTIONS: Dict[str, Dict[str, Any]] = {
    "noop": {"parameters": {}},
    "echo": {"parameters": {"message": {"type": "string", "required": True}}},
    "ask": {
        "parameters": {
            "schema": {"type": "object", "default": _ASK_SCHEMA},
            "roles": {"type": "array", "default": []},
            "users": {"type": "array", "default": []},
            "route": {"type": "string", "default": ""},
            "ttl": {"type": "integer", "default": 1440},
        }
    },
}
REFUSED_CORE = {
    "local": "core.local runs its cmd through a shell; the embedded runner only runs "
    "argv-safe actions. Use a python-script action of the pack instead.",
    "local_sudo": "core.local_sudo runs its cmd through a shell (refused, see core.local).",
    "remote": "core.remote runs a shell command over SSH (refused, see core.local).",
    "remote_sudo": "core.remote_sudo runs a shell command over SSH (refused, see core.local).",
    "http": "core.http is not supported by the embedded runner.",
}


class ActionSpec:
    """One registered action: reference, runner and parameter schema."""

    def __init__(self, ref: str, meta: Mapping[str, Any], path: Optional[str] = None) -> None:
        self.ref = ref
        self.name = ref.split(".", 1)[1]
        self.runner_type = str(meta.get("runner_type", ""))
        self.entry_point = str(meta.get("entry_point", "") or "")
        self.parameters: Dict[str, Any] = dict(meta.get("parameters") or {})
        self.description = str(meta.get("description", "") or "")
        self.enabled = bool(meta.get("enabled", True))
        self.path = path

    @property
    def secrets(self) -> List[str]:
        """Names of the secret parameters."""
        return params_mod.secret_names(self.parameters)

    def validate(
        self, given: Mapping[str, Any], config: Optional[Mapping[str, Any]] = None
    ) -> Dict[str, Any]:
        """Given parameters with defaults applied, or ``InvalidInputError``."""
        return params_mod.validate_params(self.ref, self.parameters, given, config)


class ActionRegistry:
    """Actions of one pack directory, looked up by reference or bare name."""

    def __init__(self, pack_dir: str, cache_dir: Optional[str] = None) -> None:
        self.pack_dir = os.path.abspath(pack_dir)
        self.cache_dir = cache_dir  # where parsed metadata is kept (engine/yamlcache.py)
        self.actions_dir = os.path.join(self.pack_dir, "actions")
        self.pack_ref = read_pack_ref(self.pack_dir)
        self.actions: Dict[str, ActionSpec] = {}
        for name, meta in CORE_ACTIONS.items():
            self.actions["core." + name] = ActionSpec(
                "core." + name, dict(meta, runner_type="core", entry_point=name)
            )
        self._load_pack_actions()

    def _load_pack_actions(self) -> None:
        if not os.path.isdir(self.actions_dir):
            raise ConfigError(f"Pack {self.pack_dir} has no actions/ directory")
        for fname in sorted(os.listdir(self.actions_dir)):
            if not fname.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(self.actions_dir, fname)
            with open(path) as handle:
                meta = load_yaml(handle.read(), SafeLoader, self.cache_dir)
            if not isinstance(meta, dict) or "name" not in meta:
                raise ConfigError(f"Action metadata {path} has no name")
            ref = "{}.{}".format(self.pack_ref, meta["name"])
            self.actions[ref] = ActionSpec(ref, meta, path)

    def resolve(self, name: str) -> ActionSpec:
        """The action called ``name`` (full ref, or bare name inside this pack)."""
        ref = name if "." in name else f"{self.pack_ref}.{name}"
        pack, _, short = ref.partition(".")
        if pack == "core" and short in REFUSED_CORE:
            raise InvalidInputError(
                REFUSED_CORE[short], code="UNSUPPORTED_ACTION", details={"action": ref}
            )
        spec = self.actions.get(ref)
        if spec is None:
            raise InvalidInputError(
                "Unknown action {!r} (pack {} has: {})".format(
                    name, self.pack_ref, ", ".join(self.names())
                ),
                details={"action": name},
            )
        if spec.runner_type not in SUPPORTED_RUNNERS:
            raise InvalidInputError(
                "Action {} uses runner {!r}; the embedded runner supports {}".format(
                    ref, spec.runner_type, ", ".join(SUPPORTED_RUNNERS[:2])
                ),
                code="UNSUPPORTED_ACTION",
                details={"action": ref, "runner_type": spec.runner_type},
            )
        return spec

    def names(self) -> List[str]:
        """Bare names of the pack's own actions (for messages and completion)."""
        prefix = self.pack_ref + "."
        return sorted(r[len(prefix) :] for r in self.actions if r.startswith(prefix))

    def entry_path(self, spec: ActionSpec) -> str:
        """Absolute path of an action's entry point, refusing anything outside actions/."""
        path = os.path.normpath(os.path.join(self.actions_dir, spec.entry_point))
        if not path.startswith(self.actions_dir + os.sep):
            raise ConfigError(f"Entry point of {spec.ref} leaves actions/: {spec.entry_point}")
        return path


def read_pack_ref(pack_dir: str) -> str:
    """The pack's ``ref`` (or ``name``) from its pack.yaml."""
    path = os.path.join(pack_dir, "pack.yaml")
    try:
        with open(path) as handle:
            meta = yaml.load(handle, Loader=SafeLoader)  # noqa: S506 - SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
    ref = (meta.get("ref") or meta.get("name")) if isinstance(meta, dict) else None
    if not ref:
        raise ConfigError(f"{path} has neither ref nor name")
    return str(ref)
