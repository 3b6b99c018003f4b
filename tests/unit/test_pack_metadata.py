"""Pack metadata as real StackStorm would judge it, without StackStorm installed.

The rules are st2's own (v3.9): pack.yaml fields (st2common/models/api/pack.py), the
action-parameter meta-schema that also validates config.schema.yaml attributes
(st2common/util/schema/action_params.json: a closed keyword set, property-level boolean
`required`/`secret`, a single `type`), action parameter checks done at registration
(st2common/validators/api/action.py: unique and contiguous positions, immutable needs a
default, runner parameters may only override default/description/enum/immutable/required),
entry points resolved under actions/ without `..`. Where this pack is stricter than st2
(action names = file names matching ^\\w+$, secret-looking names must be secret) the check
says so. Every checker is first shown to catch a bad sample built in a temp dir, then run
over every real file.
"""

import importlib.util
import inspect
import re
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest
import yaml
from pacemaker_update.st2compat import Action, st2_schema_to_json_schema

ROOT = Path(__file__).resolve().parents[2]
PACK_REF = "pacemaker_update"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
WORD = re.compile(r"^\w+$")
SECRET_NAME = re.compile(r"(password|passwd|passphrase|secret|token|api_?key|private_key)",
                         re.IGNORECASE)
# Keywords st2's action-parameter meta-schema accepts (it has additionalProperties: false).
PARAM_KEYWORDS = frozenset([
    "id", "$schema", "title", "description", "default", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "additionalItems", "items", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "required", "secret", "additionalProperties", "definitions",
    "properties", "patternProperties", "dependencies", "enum", "type", "position",
    "immutable", "allOf", "anyOf", "oneOf", "not"
])
SIMPLE_TYPES = frozenset(["array", "boolean", "integer", "null", "number", "object", "string",
                          "raw_string"])
ACTION_KEYS = frozenset(["id", "ref", "uid", "name", "description", "enabled", "runner_type",
                         "entry_point", "pack", "parameters", "output_schema", "tags",
                         "notify", "metadata_file"])
KNOWN_RUNNERS = frozenset([
    "python-script", "orquesta", "local-shell-cmd", "local-shell-script", "remote-shell-cmd",
    "remote-shell-script", "action-chain", "http-request", "inquirer", "noop", "announcement",
    "winrm-cmd", "winrm-ps-cmd", "winrm-ps-script"])
RUNNERS_WITH_FILES = frozenset(["python-script", "orquesta", "local-shell-script",
                                "remote-shell-script", "action-chain", "winrm-ps-script"])
# Runner parameters (contrib/runners/*/runner.yaml) of the runners this pack uses.
RUNNER_PARAMS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "python-script": {
        "debug": {"type": "boolean", "default": False, "required": False},
        "content_version": {"type": "string", "required": False},
        "env": {"type": "object"},
        "timeout": {"type": "integer", "default": 600},
        "log_level": {"type": "string", "default": "DEBUG"},
    },
    "orquesta": {},
}
OVERRIDABLE = frozenset(["default", "description", "enum", "immutable", "required"])


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def files(directory: str, pattern: str = "*.yaml") -> List[Path]:
    return sorted((ROOT / directory).glob(pattern))


def ids(paths: List[Path]) -> List[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


# ---------------------------------------------------------------- checkers

def param_schema_problems(schema: Any, path: str) -> List[str]:
    """st2's action-parameter meta-schema, applied recursively (also config.schema.yaml)."""
    if not isinstance(schema, dict):
        return [f"{path}: must be a mapping"]
    problems = [f"{path}: keyword {k!r} is not allowed by st2" for k in sorted(schema)
                if k not in PARAM_KEYWORDS]
    if "type" in schema and not (isinstance(schema["type"], str)
                                 and schema["type"] in SIMPLE_TYPES):
        problems.append(f"{path}: type {schema['type']!r} must be one of {sorted(SIMPLE_TYPES)}")
    for key in ("required", "secret", "immutable", "uniqueItems"):
        if key in schema and not isinstance(schema[key], bool):
            problems.append(f"{path}: {key} must be true or false (property-level in st2)")
    if "position" in schema and (not isinstance(schema["position"], int)
                                 or isinstance(schema["position"], bool)
                                 or schema["position"] < 0):
        problems.append(f"{path}: position must be an integer >= 0")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        problems.append(f"{path}: enum must be a non-empty list")
    for key in ("properties", "patternProperties", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            problems += param_schema_problems(sub, f"{path}.{name}")
    for key in ("additionalProperties", "additionalItems", "items", "not"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            problems += param_schema_problems(sub, f"{path}.{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(schema.get(key) or []):
            problems += param_schema_problems(sub, f"{path}.{key}[{index}]")
    if "default" in schema and not problems:
        problems += default_problems(schema, path)
    return problems


def default_problems(schema: Dict[str, Any], path: str) -> List[str]:
    if isinstance(schema["default"], str) and "{{" in schema["default"]:
        return []  # a Jinja default is rendered by st2 before validation
    converted = st2_schema_to_json_schema({"value": schema})["properties"]["value"]
    try:
        jsonschema.Draft4Validator(converted).validate(schema["default"])
    except jsonschema.ValidationError as exc:
        return [f"{path}: default does not match its own schema: {exc.message}"]
    return []


def secret_name_problems(schema: Dict[str, Any], path: str) -> List[str]:
    """Pack rule: a property whose name says secret must be `secret: true` (st2 masks it)."""
    problems = []
    for key in ("properties", "patternProperties"):
        for name, sub in (schema.get(key) or {}).items():
            if not isinstance(sub, dict):
                continue
            if SECRET_NAME.search(name) and sub.get("secret") is not True:
                problems.append(f"{path}.{name}: looks like a secret but has no secret: true")
            problems += secret_name_problems(sub, f"{path}.{name}")
    for key in ("additionalProperties", "items"):
        if isinstance(schema.get(key), dict):
            problems += secret_name_problems(schema[key], f"{path}.{key}")
    return problems


def config_schema_problems(schema: Any) -> List[str]:
    if not isinstance(schema, dict) or not schema:
        return ["config.schema.yaml must be a non-empty mapping of attributes"]
    problems = [f"attribute {n!r} must match ^\\w+$" for n in schema if not WORD.match(n)]
    for name, sub in schema.items():
        problems += param_schema_problems(sub, name)
    return problems + secret_name_problems({"properties": schema}, "config")


def pack_problems(pack: Any) -> List[str]:
    if not isinstance(pack, dict):
        return ["pack.yaml must be a mapping"]
    problems = [f"missing {k}" for k in ("ref", "name", "description", "version", "author",
                                         "email", "python_versions", "keywords")
                if not pack.get(k)]
    if pack.get("ref") and not re.match(r"^[a-z0-9_]+$", str(pack["ref"])):
        problems.append("ref may only contain a-z, 0-9 and _")
    if pack.get("version") and not SEMVER.match(str(pack["version"])):
        problems.append(f"version {pack['version']!r} is not semver")
    if pack.get("email") and "@" not in str(pack["email"]):
        problems.append("email is not an address")
    versions = pack.get("python_versions") or []
    if not isinstance(versions, list) or "3" not in versions or set(versions) - {"2", "3"}:
        problems.append("python_versions must be a list of '2'/'3' strings including '3'")
    if not isinstance(pack.get("keywords"), list):
        problems.append("keywords must be a list")
    return problems


def entry_point_problems(action: Dict[str, Any], actions_dir: Path) -> List[str]:
    runner, entry = action.get("runner_type"), action.get("entry_point", "")
    if runner not in RUNNERS_WITH_FILES:
        return []
    if not isinstance(entry, str) or not entry:
        return [f"{runner} needs an entry_point"]
    if entry.startswith("/") or ".." in Path(entry).parts:
        return [f"entry_point {entry!r} must be relative to actions/ without '..' (st2 rejects)"]
    target = (actions_dir / entry).resolve()
    if actions_dir.resolve() not in target.parents:
        return [f"entry_point {entry!r} resolves outside actions/"]
    problems = [] if target.is_file() else [f"entry_point {entry!r} does not exist"]
    if runner == "orquesta" and not entry.startswith("workflows/"):
        problems.append("orquesta workflows live in actions/workflows/")
    if runner == "python-script" and not entry.endswith(".py"):
        problems.append("a python-script entry_point is a .py file")
    return problems


def parameter_problems(action: Dict[str, Any]) -> List[str]:
    params = action.get("parameters") or {}
    if not isinstance(params, dict):
        return ["parameters must be a mapping"]
    problems, positions = [], {}
    runner_params = RUNNER_PARAMS.get(action.get("runner_type"), {})
    for name, schema in params.items():
        if not WORD.match(str(name)):
            problems.append(f"parameter name {name!r} must match ^\\w+$")
        problems += param_schema_problems(schema, f"parameters.{name}")
        if not isinstance(schema, dict):
            continue
        if schema.get("immutable") and "default" not in schema and "default" not in (
                runner_params.get(name) or {}):
            problems.append(f"parameters.{name}: immutable needs a default")
        if "position" in schema:
            if schema["position"] in positions:
                problems.append(f"parameters.{name}: position {schema['position']} also used by "
                                f"{positions[schema['position']]}")
            positions.setdefault(schema["position"], name)
        for attr, value in schema.items():
            if name in runner_params and attr not in OVERRIDABLE and (
                    value != runner_params[name].get(attr)):
                problems.append(f"parameters.{name}: runner parameter attribute {attr!r} "
                                "cannot be overridden (st2 refuses to register)")
    if positions and sorted(positions) != list(range(min(positions), max(positions) + 1)):
        problems.append(f"positions {sorted(positions)} are not contiguous")
    return problems + secret_name_problems({"properties": params}, "parameters")


def action_problems(action: Any, path: Path) -> List[str]:
    if not isinstance(action, dict):
        return ["an action file must be a mapping"]
    problems = [f"unknown key {k!r}" for k in sorted(set(action) - ACTION_KEYS)]
    name = action.get("name")
    if not isinstance(name, str) or not WORD.match(name):
        problems.append(f"name {name!r} must match ^\\w+$ (pack rule; st2 wants a string)")
    elif name != path.stem:
        problems.append(f"name {name!r} differs from the file name {path.stem!r}")
    if action.get("pack", PACK_REF) != PACK_REF:
        problems.append(f"pack must be {PACK_REF}")
    if action.get("runner_type") not in KNOWN_RUNNERS:
        problems.append(f"unknown runner_type {action.get('runner_type')!r}")
    if not isinstance(action.get("enabled", True), bool):
        problems.append("enabled must be true or false")
    if not action.get("description"):
        problems.append("description is missing")
    return problems + entry_point_problems(action, path.parent) + parameter_problems(action)


def python_action_class(path: Path, entry: str) -> type:
    """Import a python action like st2's wrapper: exactly one Action subclass defined there."""
    spec = importlib.util.spec_from_file_location("pack_action_" + Path(entry).stem,
                                                  path.parent / entry)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, Action) and c.__module__ == module.__name__]
    assert len(classes) == 1, f"{entry} defines {len(classes)} Action subclasses, st2 needs one"
    return classes[0]


def shape_problems(kind: str, doc: Any, path: Path) -> List[str]:
    """Basic shape of rules, policies, aliases and sensors metadata."""
    if not isinstance(doc, dict):
        return ["must be a mapping"]
    need = {"rules": ("name", "trigger", "action"),
            "policies": ("name", "resource_ref", "policy_type"),
            "aliases": ("name", "action_ref", "formats"),
            "sensors": ("class_name", "entry_point")}[kind]
    problems = [f"missing {k}" for k in need if not doc.get(k)]
    if kind == "rules" and not (doc.get("action") or {}).get("ref"):
        problems.append("action.ref is missing")
    if kind == "rules" and not (doc.get("trigger") or {}).get("type"):
        problems.append("trigger.type is missing")
    if kind == "aliases":
        formats = [f if isinstance(f, str) else (f or {}).get("display")
                   for f in doc.get("formats") or []]
        if len(formats) != len(set(formats)):
            problems.append("formats repeat (st2 answers ambiguous matches with an error)")
    if kind == "sensors":
        if doc.get("entry_point") and not (path.parent / doc["entry_point"]).is_file():
            problems.append(f"entry_point {doc['entry_point']!r} does not exist")
        for trigger in doc.get("trigger_types") or []:
            if not isinstance(trigger, dict) or not trigger.get("name"):
                problems.append("a trigger type needs a name")
            elif "payload_schema" not in trigger:
                problems.append(f"trigger {trigger['name']!r} has no payload_schema")
        interval = doc.get("poll_interval")
        if interval is not None and not (isinstance(interval, int) and interval > 0):
            problems.append("poll_interval must be a positive integer")
    return problems


# ---------------------------------------------------------------- the checkers catch problems

def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_checkers_catch_bad_action_samples(tmp_path):
    actions = tmp_path / "actions"
    write(actions / "workflows" / "wf.yaml", {"version": "1.0"})
    bad = write(actions / "bad.yaml", {
        "name": "bad-name", "runner_type": "python-script", "entry_point": "../evil.py",
        "description": "x", "colour": "red",
        "parameters": {
            "db password": {"type": "string"},
            "api_token": {"type": "string"},
            "mode": {"type": ["string", "null"], "immutable": True},
            "a": {"type": "string", "position": 0, "required": "yes"},
            "b": {"type": "string", "position": 2, "format": "uri", "$ref": "#/x"},
            "n": {"type": "integer", "default": "ten"},
            "timeout": {"type": "integer", "minimum": 1},
        }})
    text = "\n".join(action_problems(load_yaml(bad), bad))
    for expected in ("unknown key 'colour'", "must match ^\\w+$ (pack rule",
                     "without '..'", "'db password' must match", "api_token: looks like a secret",
                     "mode: type ['string', 'null']", "mode: immutable needs a default",
                     "a: required must be true or false", "keyword 'format'", "keyword '$ref'",
                     "positions [0, 2] are not contiguous", "n: default does not match",
                     "'minimum' cannot be overridden"):
        assert expected in text, expected
    wf = write(actions / "flow.yaml", {"name": "flow", "runner_type": "orquesta",
                                       "entry_point": "flow.yaml", "description": "x"})
    assert "orquesta workflows live in actions/workflows/" in action_problems(load_yaml(wf), wf)
    missing = write(actions / "gone.yaml", {"name": "gone", "runner_type": "python-script",
                                            "entry_point": "gone.py", "description": "x"})
    assert action_problems(load_yaml(missing), missing) == ["entry_point 'gone.py' does not exist"]


def test_checkers_accept_a_good_action_sample(tmp_path):
    actions = tmp_path / "actions"
    (actions / "ok.py").parent.mkdir(parents=True)
    (actions / "ok.py").write_text("x = 1\n")
    good = write(actions / "ok.yaml", {
        "name": "ok", "pack": PACK_REF, "runner_type": "python-script", "entry_point": "ok.py",
        "description": "fine", "enabled": True,
        "parameters": {"cluster": {"type": "string", "required": True, "position": 0},
                       "password": {"type": "string", "secret": True, "position": 1},
                       "mode": {"type": "string", "enum": ["a", "b"], "default": "a",
                                "immutable": True},
                       "timeout": {"default": 900}}})
    assert action_problems(load_yaml(good), good) == []


def test_checkers_catch_bad_config_schema_and_pack():
    schema = {"clusters": {"type": "object", "additionalProperties": {
        "type": "object", "properties": {"token": {"type": "string"},
                                         "x": {"$ref": "#/definitions/y"},
                                         "when": {"type": "string", "format": "date-time"}}}},
        "bad-name": {"type": "string"}}
    text = "\n".join(config_schema_problems(schema))
    for expected in ("token: looks like a secret", "keyword '$ref'", "keyword 'format'",
                     "'bad-name' must match"):
        assert expected in text, expected
    assert set(pack_problems({"name": "p", "version": "1.0", "ref": "Bad-Ref",
                              "python_versions": ["3.8"]})) >= {
        "missing email", "missing author", "version '1.0' is not semver",
        "ref may only contain a-z, 0-9 and _",
        "python_versions must be a list of '2'/'3' strings including '3'"}


def test_shape_checkers_catch_bad_samples(tmp_path):
    assert "action.ref is missing" in shape_problems(
        "rules", {"name": "r", "trigger": {"type": "t"}, "action": {}}, tmp_path / "r.yaml")
    assert "formats repeat" in " ".join(shape_problems(
        "aliases", {"name": "a", "action_ref": "p.a", "formats": ["go", "go"]},
        tmp_path / "a.yaml"))
    sensor = {"class_name": "S", "entry_point": "s.py", "poll_interval": 0,
              "trigger_types": [{"name": "t"}]}
    assert set(shape_problems("sensors", sensor, tmp_path / "s.yaml")) == {
        "entry_point 's.py' does not exist", "trigger 't' has no payload_schema",
        "poll_interval must be a positive integer"}


def test_python_action_import_rule_on_a_sample(tmp_path):
    (tmp_path / "two.py").write_text(
        "from pacemaker_update.st2compat import Action\n"
        "class A(Action):\n    def run(self):\n        return True, {}\n"
        "class B(A):\n    pass\n")
    with pytest.raises(AssertionError, match="2 Action subclasses"):
        python_action_class(tmp_path / "two.yaml", "two.py")


# ---------------------------------------------------------------- the real pack

ACTION_FILES = files("actions")
PYTHON_ACTIONS = [p for p in ACTION_FILES
                  if (load_yaml(p) or {}).get("runner_type") == "python-script"]


def test_pack_yaml():
    assert pack_problems(load_yaml(ROOT / "pack.yaml")) == []
    assert load_yaml(ROOT / "pack.yaml")["ref"] == PACK_REF


def test_config_schema_is_valid_st2_dialect():
    assert config_schema_problems(load_yaml(ROOT / "config.schema.yaml")) == []


def test_config_schema_flags_every_secret():
    schema = load_yaml(ROOT / "config.schema.yaml")
    ssh = schema["clusters"]["additionalProperties"]["properties"]["ssh"]["properties"]
    assert ssh["password"]["secret"] is True


@pytest.mark.parametrize("path", ACTION_FILES, ids=ids(ACTION_FILES))
def test_action_metadata(path):
    assert action_problems(load_yaml(path), path) == []


@pytest.mark.parametrize("path", PYTHON_ACTIONS, ids=ids(PYTHON_ACTIONS))
def test_python_action_does_not_declare_the_runners_timeout(path):
    """st2 hands `timeout` to the python runner as its kill timer; run() never receives it."""
    assert "timeout" not in (load_yaml(path).get("parameters") or {}), (
        "name it wait_timeout: ClusterAction accepts both, st2 only passes wait_timeout")


@pytest.mark.parametrize("path", PYTHON_ACTIONS, ids=ids(PYTHON_ACTIONS))
def test_python_action_class_imports_and_is_a_pack_action(path):
    cls = python_action_class(path, load_yaml(path)["entry_point"])
    assert not inspect.isabstract(cls), f"{cls.__name__} leaves abstract methods"
    instance = cls(config={})
    assert callable(instance.run)


def test_action_names_are_unique():
    names = [load_yaml(p).get("name") for p in ACTION_FILES]
    assert len(names) == len(set(names))


def test_workflow_files_are_referenced_orquesta_yaml():
    for path in files("actions/workflows"):
        doc = load_yaml(path)
        assert isinstance(doc, dict) and str(doc.get("version")) == "1.0", path


OTHER_FILES = [(kind, p) for kind in ("rules", "policies", "aliases", "sensors")
               for p in files(kind) + files(kind, "*.yml")]


@pytest.mark.parametrize("kind,path", OTHER_FILES, ids=[ids([p])[0] for _, p in OTHER_FILES])
def test_other_metadata_shape(kind, path):
    assert shape_problems(kind, load_yaml(path), path) == []
