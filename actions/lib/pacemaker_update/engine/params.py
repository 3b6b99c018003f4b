"""Action parameters in st2's schema dialect: validation, casting, masking.

st2 writes parameters as ``name: {type, default, required: true, secret: true,
immutable: true, position, enum, ...}``. Before validating, st2 moves the
property-level ``required`` into the object's ``required`` list, forbids
unknown parameters, applies defaults and refuses to override immutable ones.
We do the same with jsonschema (draft 4, as st2) so a run that passes here is
accepted by st2 too, and fails with a coded ``InvalidInputError`` otherwise.
"""

import copy
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

import jsonschema

from pacemaker_update.errors import InvalidInputError

MASK = "********"
_ST2_ONLY_KEYS = ("required", "secret", "immutable", "position")


def build_schema(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Turn an action's ``parameters`` block into a plain JSON schema (as st2 does)."""
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for name, spec in (params or {}).items():
        prop = {k: copy.deepcopy(v) for k, v in (spec or {}).items() if k not in _ST2_ONLY_KEYS}
        properties[name] = prop
        if (spec or {}).get("required") is True:
            required.append(name)
    schema: Dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = sorted(required)
    return schema


def secret_names(params: Mapping[str, Any]) -> List[str]:
    """Names of the parameters declared ``secret: true``."""
    return sorted(n for n, s in (params or {}).items() if (s or {}).get("secret") is True)


def _render_default(value: Any, config: Mapping[str, Any]) -> Any:
    # st2 renders Jinja in defaults; the only context a pack can rely on
    # outside st2 is its own config (``config_context``).
    if isinstance(value, str) and "{{" in value:
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment()
        return env.from_string(value).render(config_context=dict(config))
    return value


def apply_defaults(
    ref: str,
    params: Mapping[str, Any],
    given: Mapping[str, Any],
    config: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Given values plus declared defaults; refuses to override an immutable parameter."""
    out = dict(given)
    for name, spec in (params or {}).items():
        spec = spec or {}
        if spec.get("immutable") and name in given and given[name] != spec.get("default"):
            raise InvalidInputError(
                f"Parameter {name!r} of {ref} is immutable and cannot be overridden",
                details={"action": ref, "parameter": name},
            )
        if name not in out and "default" in spec:
            out[name] = _render_default(copy.deepcopy(spec["default"]), config or {})
    return out


def validate_params(
    ref: str,
    params: Mapping[str, Any],
    given: Mapping[str, Any],
    config: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Validate ``given`` against the action's parameters; return them with defaults.

    Why: bad input must be refused with a clear message before anything runs.
    """
    unknown = sorted(set(given) - set(params or {}))
    if unknown:
        raise InvalidInputError(
            "Unknown parameter(s) {} for {} (accepted: {})".format(
                ", ".join(unknown), ref, ", ".join(sorted(params or {})) or "none"
            ),
            details={"action": ref, "unknown": unknown},
        )
    # A workflow passing ``<% ctx(x) %>`` for an unset optional input sends None:
    # treat it as not given so the declared default applies.
    given = {
        k: v
        for k, v in given.items()
        if v is not None or ((params or {}).get(k) or {}).get("required")
    }
    values = apply_defaults(ref, params, given, config)
    validator = jsonschema.Draft4Validator(build_schema(params))
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.path))
    if errors:
        messages = [_describe(e) for e in errors]
        raise InvalidInputError(
            "Invalid parameters for {}: {}".format(ref, "; ".join(messages)),
            details={"action": ref, "errors": messages},
        )
    return values


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.path)
    return f"{where}: {error.message}" if where else error.message


def cast_cli_value(params: Mapping[str, Any], name: str, text: str) -> Any:
    """Cast a ``k=v`` string from the command line to the declared type (like st2 run)."""
    kind = ((params or {}).get(name) or {}).get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            return text
        if kind in ("array", "object"):
            stripped = text.strip()
            if stripped.startswith(("[", "{")):
                return json.loads(stripped)
            if kind == "array":
                return [part.strip() for part in text.split(",") if part.strip()]
    except ValueError:
        return text  # left as a string: validation reports the type error
    return text


def mask_values(values: Mapping[str, Any], secrets: Iterable[str]) -> Dict[str, Any]:
    """A copy of ``values`` with every secret parameter replaced by st2's mask."""
    hidden = set(secrets)
    return {k: (MASK if k in hidden and v is not None else v) for k, v in values.items()}
