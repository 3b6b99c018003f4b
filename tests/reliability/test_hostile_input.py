"""Hostile input campaign: every python action parameter, the CLI, the ticket webhook payload,
the chat alias parameters and the crm_mon XML parser, fuzzed with hypothesis.

Nothing can execute: the actions run with a pack config whose transports are
``RecordingTransport`` (a subclass of the real ``Transport``, so argv/env/timeout validation
is the real one) put in place of ``pacemaker_update.transport.SSHTransport``; it answers
crm_mon from a recorded fixture and records every argv. ``subprocess.Popen`` and outgoing
sockets are blocked (and counted) for the duration of each case, so an action that tried to
run something else, or to reach the st2 API, cannot.

What must hold for every case: ``run()`` answers (no exception escapes), with a legit result
or a coded error (UPPER_SNAKE, and not INTERNAL_ERROR, which is the base class's net for a
library bug); every argv that reached the transport consists of validated tokens (a token of
the known command vocabulary, or a plain name that does not start with '-' and has no shell
metacharacter, whitespace, control or non-ASCII character); no argv element carries a hostile
input string; a hostile value given for a name is rejected before any command ran.

Examples per test: $PU_HOSTILE_EXAMPLES (default 20, derandomized: the same cases every run);
bench/reliability_report.py runs a bigger campaign and sets $PU_RELIABILITY_COUNTS, the JSON
file where the counts of cases tried and their outcomes are written.
"""

import collections
import importlib.util
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pacemaker_update.engine.registry import ActionSpec
from pacemaker_update.errors import PacemakerUpdateError
from pacemaker_update.st2compat import Action
from pacemaker_update.state import parse_crm_mon_xml
from pacemaker_update.ticket import TicketRequest, validate_ticket
from pacemaker_update.transport.base import Result, Transport

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"
FIXTURES = ROOT / "tests" / "fixtures" / "crm_mon"
STATUS_XML = (FIXTURES / "two_node_normal.xml").read_text()
EXAMPLES = int(os.environ.get("PU_HOSTILE_EXAMPLES", "3"))
CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
SHELL_META = set(";&|`$<>()\\\"'*?[]{}!#~\n\r\t ")
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_.:@+=,/-]*$")
# Parameters that name something on the cluster (they may end up in argv).
NAME_PARAMS = {"node", "cluster", "packages", "services", "expect_online", "resources",
               "destinations"}
FAST = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
COUNTS: Dict[str, Any] = collections.defaultdict(lambda: collections.Counter())

CONFIG = {"clusters": {"lab": {
    "frontend": "crmsh", "package_manager": "yum", "chat_route": "ops",
    "maintenance_windows": [{"start": "0 2 * * 0", "duration_minutes": 120}],
    "nodes": [{"name": "server1", "address": "192.0.2.1"},
              {"name": "server2", "address": "192.0.2.2"}]}}}

# --- hostile values ------------------------------------------------------------------------
FIXED = ["; rm -rf /", "$(id)", "`id`", "a|b", "a&&b", "x\ny", "srv1 --force", "-x", "--all",
         "-rf", "--output-as=text", "-", "--", "*", "../../etc/passwd", "a b", "\x00",
         "server1\x00; id", "ѕеrvеr1", "server\u202e1", "\u200bserver1", "ｓｅｒｖｅｒ１",
         "server1\u0301", "'", '"', "${IFS}", "~root", "a>b", "a<b", "!!", "#c", "\t",
         "%s%n", "{{7*7}}", "<% ctx() %>", "\U0001f4a9", "\ud7ff", "A" * 5000, "-" * 300,
         "é" * 100_000, "", " ", "server1;", "httpd\n"]
META_CHARS = sorted(SHELL_META) + ["\x00", "\u202e", "\u200b", "\x1b"]


def hostile_text() -> st.SearchStrategy[str]:
    """Shell metacharacters, option-looking values, unicode tricks, huge strings."""
    name = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
    return st.one_of(
        st.sampled_from(FIXED),
        st.builds(lambda a, m, b: a + m + b, name, st.sampled_from(META_CHARS), name),
        st.builds(lambda d, a: d + a, st.sampled_from(["-", "--"]), name),
        st.text(min_size=1, max_size=40).filter(lambda s: not SAFE_TOKEN.match(s)),
        st.builds(lambda c, n: c * n, st.sampled_from(["a", ";", "é", "-"]),
                  st.integers(1000, 20_000)),
    )


def wrong_type() -> st.SearchStrategy[Any]:
    """Values of the wrong JSON type for any parameter."""
    return st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.booleans(),
                     st.none(), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def is_hostile(value: str) -> bool:
    """Whether a string must never appear in argv: meta/control/non-ASCII, option-looking."""
    return bool(value) and (value.startswith("-") or not SAFE_TOKEN.match(value))


# --- nothing may execute -------------------------------------------------------------------
class RecordingTransport(Transport):
    """Built like SSHTransport; answers from memory, records argv, never connects."""

    calls: List[Tuple[str, Tuple[str, ...]]] = []

    def __init__(self, host: str, address: str = "", **kw: Any) -> None:
        self.host, self.sudo = host, bool(kw.get("sudo", False))

    def _execute(self, argv: Tuple[str, ...], timeout: float, sudo: bool,
                 env: Dict[str, str], stdin: Optional[str]) -> Result:
        RecordingTransport.calls.append((self.host, argv))
        out = ""
        if argv[:2] == ("crm_mon", "--version"):
            out = "Pacemaker 2.1.5\n"
        elif argv[:2] == ("crm", "--version"):
            out = "crm 4.4.1\n"
        elif argv[0] == "crm_mon":
            out = STATUS_XML
        return Result(self.host, argv, 0, out, "", 0.0, time.time())


class Guard:
    """Blocks and counts subprocesses and outgoing connections while a case runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.spawned: List[Any] = []
        self.connects: List[Any] = []
        self.owner = threading.get_ident()
        real_connect = socket.socket.connect

        def popen(*args: Any, **kw: Any) -> Any:
            self.spawned.append(args[1] if len(args) > 1 else kw.get("args"))
            raise OSError("blocked by the hostile-input test: no process may start")

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family == socket.AF_UNIX:
                return real_connect(sock, address)
            self.connects.append(address)
            raise OSError("blocked by the hostile-input test: no network")

        monkeypatch.setattr(subprocess.Popen, "__init__", popen)
        monkeypatch.setattr(socket.socket, "connect", connect)


class FakeClock:
    """Time moves only when the code sleeps: a poll that never sees its effect ends at once."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


class MemoryDatastore:
    """st2's action_service datastore part, in a dict."""

    def __init__(self) -> None:
        self.data: Dict[str, Any] = {}

    def get_value(self, name: str, local: bool = True, **_: Any) -> Any:
        return self.data.get(name)

    def set_value(self, name: str, value: Any, **_: Any) -> bool:
        self.data[name] = value
        return True

    def delete_value(self, name: str, **_: Any) -> bool:
        return self.data.pop(name, None) is not None

    def list_values(self, local: bool = True, prefix: Optional[str] = None) -> List[Any]:
        return []


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Recording transports for every node; no st2 API; from here on nothing can execute."""
    import pacemaker_update.transport as transport_pkg
    from pacemaker_update import ops

    monkeypatch.setattr(transport_pkg, "SSHTransport", RecordingTransport)
    monkeypatch.setenv("ST2_ACTION_API_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ST2_ACTION_AUTH_TOKEN", "hostile-test-token")
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.delenv("PACEMAKER_UPDATE_CONFIG", raising=False)
    clock = FakeClock()
    monkeypatch.setattr(ops.CLOCK, "now", clock.now)
    monkeypatch.setattr(ops.CLOCK, "sleep", clock.sleep)
    ops.forget_probes()
    yield
    ops.forget_probes()


@pytest.fixture(scope="module", autouse=True)
def write_counts() -> Iterator[None]:
    """At module end, merge this module's counts into $PU_RELIABILITY_COUNTS (if set)."""
    yield
    path = os.environ.get("PU_RELIABILITY_COUNTS")
    if not path:
        return
    old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    old["hostile"] = {k: dict(v) for k, v in COUNTS.items()}
    old["hostile_examples_per_test"] = EXAMPLES
    Path(path).write_text(json.dumps(old, indent=1, sort_keys=True))


# --- the actions ---------------------------------------------------------------------------
def load_actions() -> Dict[str, Tuple[Any, Dict[str, Any]]]:
    """Every python-script action: name -> (its Action class, its parameter schemas)."""
    out = {}
    for path in sorted(ACTIONS.glob("*.yaml")):
        meta = yaml.safe_load(path.read_text())
        if meta.get("runner_type") != "python-script":
            continue
        spec = importlib.util.spec_from_file_location("hostile_" + meta["name"],
                                                      ACTIONS / meta["entry_point"])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
                   if issubclass(c, Action) and c.__module__ == module.__name__]
        out[meta["name"]] = (classes[0], dict(meta.get("parameters") or {}))
    return out


ALL_ACTIONS = load_actions()
SPECS = {name: ActionSpec(f"pacemaker_update.{name}", {"runner_type": "python-script",
                                                       "parameters": schemas})
         for name, (_cls, schemas) in ALL_ACTIONS.items()}
BENIGN = {"cluster": "lab", "node": "server2", "enabled": True, "packages": ["httpd"],
          "services": ["httpd.service"], "expect_online": ["server1", "server2"],
          "start_nodes": ["server2", "server1"],
          "run_id": "r1", "step": "standby-server2", "operation": "standby",
          "resources": ["vip"], "destinations": ["server1"], "method": "rolling_standby",
          "snapshot": {"resources": {"vip": {"server1": "started"}}}, "status": "succeeded",
          "change_id": "CHG1", "report": {"cluster": "lab", "nodes": {}}, "payload": {},
          "recipient_url": "http://127.0.0.1:9/alert", "dry_run": True}


def benign_params(schemas: Dict[str, Any]) -> Dict[str, Any]:
    """Plausible values for the required parameters (and dry_run where there is one)."""
    params = {}
    for name, schema in schemas.items():
        if name in BENIGN and (schema.get("required") or name == "dry_run"):
            params[name] = BENIGN[name]
    return params


def hostile_for(schema: Dict[str, Any]) -> st.SearchStrategy[Any]:
    """A hostile value for one parameter: strings for strings, items for arrays, + wrong types."""
    kind = schema.get("type")
    if kind == "string":
        return st.one_of(hostile_text(), hostile_text(), wrong_type())
    if kind == "array":
        return st.one_of(st.lists(hostile_text(), min_size=1, max_size=3),
                         st.lists(st.sampled_from(["httpd", "server1"]), max_size=2).flatmap(
                             lambda ok: hostile_text().map(lambda h: ok + [h])),
                         hostile_text(), wrong_type())
    return st.one_of(wrong_type(), hostile_text())


def strings_in(value: Any) -> List[str]:
    """Every string inside a (nested) parameter value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for kv in value.items() for item in kv for s in strings_in(item)]
    return []


VOCABULARY: set = set()


OPTION_VALUE = re.compile(r"^(--?[A-Za-z][A-Za-z-]*=)[A-Za-z0-9_.:@+,/-]*$")


def is_known_token(elem: str) -> bool:
    """A token of the command vocabulary, an option of it with a plain value, or a plain name."""
    if elem in VOCABULARY or SAFE_TOKEN.match(elem):
        return True
    option = OPTION_VALUE.match(elem)
    return bool(option) and any(v.startswith(option.group(1)) for v in VOCABULARY)


def argv_problems(calls: Sequence[Tuple[str, Tuple[str, ...]]], hostile: List[str]) -> List[str]:
    """Why any argv that reached the transport is not made of validated tokens."""
    bad = []
    tainted = [h for h in hostile if is_hostile(h) and len(h) >= 2]
    for host, argv in calls:
        for elem in argv:
            if not is_known_token(elem):
                bad.append(f"{host}: unvalidated token {elem[:60]!r} in {list(argv)[:6]}")
            for h in tainted:
                if h in elem and elem not in VOCABULARY:
                    bad.append(f"{host}: hostile input {h[:40]!r} inside {elem[:60]!r}")
    return bad


def validate_like_runner(name: str, params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The parameters as st2 / the embedded runner hand them to run() (schema checked,
    defaults applied), or None when the schema refuses them (a coded INVALID_INPUT)."""
    try:
        return dict(SPECS[name].validate(params, CONFIG))
    except PacemakerUpdateError as exc:
        assert CODE.match(exc.code), exc.code
        return None


def run_case(cls: Any, params: Dict[str, Any]) -> Tuple[bool, Dict[str, Any], List[Any]]:
    """Run one action (no exception may escape); its ok, envelope, transport calls."""
    RecordingTransport.calls = []
    action = cls(config=json.loads(json.dumps(CONFIG)))
    action.action_service = MemoryDatastore()
    outcome = action.run(**params)
    assert isinstance(outcome, tuple) and len(outcome) == 2, f"not (ok, result): {outcome!r}"
    ok, env = outcome
    assert isinstance(ok, bool) and isinstance(env, dict), outcome
    return ok, env, list(RecordingTransport.calls)


def cls_name(cls: Any) -> str:
    """The action name of an Action class of ALL_ACTIONS."""
    return [n for n, (c, _s) in ALL_ACTIONS.items() if c is cls][0]


def record_vocabulary() -> None:
    """The command vocabulary: every argv element of benign runs (flags, queryformats...)."""
    for cls, schemas in ALL_ACTIONS.values():
        for variant in ({}, {"dry_run": False}):
            params = dict(benign_params(schemas), **{k: v for k, v in variant.items()
                                                     if k in schemas})
            checked = validate_like_runner(cls_name(cls), params)
            assert checked is not None, (cls, params)
            _ok, _env, calls = run_case(cls, checked)
            VOCABULARY.update(elem for _h, argv in calls for elem in argv)


def check_envelope(name: str, param: str, value: Any, ok: bool, env: Dict[str, Any],
                   calls: List[Any]) -> str:
    """The properties every case must have; returns the outcome label for the counts."""
    error = env.get("error")
    if not ok:
        assert isinstance(error, dict), f"{name}: failed without a coded error: {env!r:.300}"
        code = error.get("code")
        assert isinstance(code, str) and CODE.match(code), f"{name}: bad code {code!r}"
        assert code != "INTERNAL_ERROR", (
            f"{name}({param}={value!r:.80}) hit an unexpected exception: "
            f"{error.get('message')}\n{(error.get('details') or {}).get('traceback', '')}")
    problems = argv_problems(calls, strings_in(value))
    assert not problems, f"{name}({param}={value!r:.80}): " + "; ".join(problems[:3])
    if param in NAME_PARAMS and any(is_hostile(s) for s in strings_in(value)):
        assert not calls, f"{name} ran commands with the hostile {param} {value!r:.80}: {calls}"
    return "ok" if ok else f"error:{error['code']}"


# Known bugs as strict xfails (fixed ones leave this table): none open. `now` used to go to
# dt.datetime.fromisoformat unguarded; it is now parsed by window.parse_clock.
KNOWN_BUGS: dict = {}  # none open: `now` is parsed by window.parse_clock (INVALID_INPUT)
CASES = [pytest.param(name, param, id=f"{name}.{param}", marks=[pytest.mark.xfail(
    strict=True, raises=ValueError, reason=KNOWN_BUGS[(name, param)])]
    if (name, param) in KNOWN_BUGS else [])
    for name, (_c, schemas) in sorted(ALL_ACTIONS.items()) for param in sorted(schemas)]


@pytest.mark.parametrize("name,param", CASES)
def test_action_parameter_is_hostile_proof(name: str, param: str, sandbox: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """One parameter of one action hostile, the others benign: coded, nothing tainted runs."""
    cls, schemas = ALL_ACTIONS[name]
    guard = Guard(monkeypatch)
    if not VOCABULARY:
        record_vocabulary()

    @FAST
    @given(value=hostile_for(schemas[param]))
    def case(value: Any) -> None:
        checked = validate_like_runner(name, dict(benign_params(schemas), **{param: value}))
        if checked is None:
            COUNTS["actions"]["cases"] += 1
            COUNTS["actions"]["rejected_by_schema"] += 1
            return
        ok, env, calls = run_case(cls, checked)
        label = check_envelope(name, param, value, ok, env, calls)
        assert not guard.spawned, f"{name} tried to start a process: {guard.spawned[:2]}"
        COUNTS["actions"]["cases"] += 1
        COUNTS["actions"][label.split(":")[0]] += 1
        COUNTS["action_codes"][label] += 1
        COUNTS["actions"]["transport_calls"] += len(calls)
        COUNTS["actions"]["tainted_argv"] += 0  # any would have failed check_envelope

    case()
    COUNTS["actions"]["blocked_network_attempts"] += len(guard.connects)
    COUNTS["per_action"][name] += 1


def test_unknown_extra_parameter_is_refused_by_the_schema() -> None:
    """A parameter no action declares (a typo, or a smuggled option) never reaches run()."""
    for name, (_cls, schemas) in sorted(ALL_ACTIONS.items()):
        assert validate_like_runner(name, dict(benign_params(schemas), **{"--force": True})) \
            is None, name


# --- the ticket webhook payload ------------------------------------------------------------
TICKET = {"change_id": "CHG0001", "cluster": "lab", "method": "rolling_standby",
          "requester": "alice", "callback_url": "https://itsm.example.invalid/cb",
          "packages": ["httpd"], "failback": "none", "dry_run": False, "approve": "none",
          "ticket": {"summary": "monthly patching"}}
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=3)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                           max_leaves=10)


def hostile_ticket() -> st.SearchStrategy[Any]:
    """A valid payload with one field hostile, an extra field, or garbage JSON/bytes."""
    field = st.sampled_from(sorted(TICKET))
    one_field = st.tuples(field, st.one_of(hostile_text(), wrong_type(),
                                           st.lists(hostile_text(), min_size=1, max_size=2)))
    return st.one_of(
        one_field.map(lambda fv: dict(TICKET, **{fv[0]: fv[1]})),
        st.tuples(hostile_text(), JSON_VALUES).map(lambda kv: dict(TICKET, **{kv[0]: kv[1]})),
        JSON_VALUES, hostile_text(), st.binary(max_size=200),
        hostile_text().map(lambda h: json.dumps(dict(TICKET, cluster=h))),
    )


@FAST
@given(payload=hostile_ticket())
def test_ticket_payload_is_validated_or_refused(payload: Any) -> None:
    """validate_ticket returns only safe names, or refuses with INVALID_TICKET; nothing else."""
    COUNTS["ticket"]["cases"] += 1
    try:
        ticket = validate_ticket(payload)
    except PacemakerUpdateError as exc:
        assert exc.code == "INVALID_TICKET", exc
        COUNTS["ticket"]["refused"] += 1
        return
    assert isinstance(ticket, TicketRequest)
    for name in [ticket.change_id, ticket.cluster, *ticket.packages]:
        assert not is_hostile(name.replace(":", "_").replace("~", "_")), ticket
    COUNTS["ticket"]["accepted"] += 1


# --- chat alias parameters -----------------------------------------------------------------
sys.path.insert(0, str(ROOT / "tests" / "unit"))
from test_aliases import NoMatch, dispatch  # noqa: E402

ALIAS_COMMANDS = [
    "pacemaker status {v}", "pacemaker pause {v}", "pacemaker resume {v}",
    "pacemaker progress {v}", "pacemaker cancel {v}", "pacemaker rollback {v}",
    "pacemaker update {v} with rolling_standby", "pacemaker plan {v} with node_maintenance",
    "pacemaker update lab with {v}", "pacemaker update lab with rolling_standby packages={j}",
    "pacemaker update lab with rolling_standby failback={v}",
]
# Which python action receives each parameter of a workflow an alias starts.
WORKFLOW_RECEIVERS = {"cluster": ("preflight_check", {}),
                      "method": ("preflight_check", {"cluster": "lab"}),
                      "packages": ("update_packages", {"cluster": "lab", "node": "server2",
                                                        "dry_run": True})}


def chat_value() -> st.SearchStrategy[str]:
    """Hostile text that survives a chat line (quoted when it holds spaces)."""
    return hostile_text().filter(lambda v: "\n" not in v and "\r" not in v and len(v) < 3000)


@pytest.mark.parametrize("template", ALIAS_COMMANDS)
def test_alias_parameters_are_hostile_proof(template: str, sandbox: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Chat line → st2's alias matching and casting → parameter schema → the action that gets it."""
    guard = Guard(monkeypatch)
    if not VOCABULARY:
        record_vocabulary()
    from pacemaker_update.engine.registry import ActionRegistry

    registry = ActionRegistry(str(ROOT))

    @FAST
    @given(value=chat_value())
    def case(value: str) -> None:
        COUNTS["alias"]["cases"] += 1
        quoted = f'"{value}"' if (" " in value or "\t" in value) else value
        try:
            _alias, ref, params = dispatch(template.format(v=quoted, j=json.dumps([value])))
        except (NoMatch, ValueError, SyntaxError):
            COUNTS["alias"]["no_match_or_cast_refused"] += 1
            return
        spec = registry.resolve(ref)
        try:
            spec.validate(params, CONFIG)
        except PacemakerUpdateError as exc:
            assert CODE.match(exc.code)
            COUNTS["alias"]["rejected_by_schema"] += 1
            return
        targets = [(spec.name, params)] if spec.runner_type == "python-script" else [
            (WORKFLOW_RECEIVERS[k][0], dict(WORKFLOW_RECEIVERS[k][1], **{k: v}))
            for k, v in params.items() if k in WORKFLOW_RECEIVERS]
        for action, given_params in targets:
            checked = validate_like_runner(action, given_params)
            if checked is None:
                COUNTS["alias"]["rejected_by_schema"] += 1
                continue
            ok, env, calls = run_case(ALL_ACTIONS[action][0], checked)
            for param, val in given_params.items():
                label = check_envelope(action, param, val, ok, env, calls)
            COUNTS["alias"][label.split(":")[0]] += 1
        assert not guard.spawned

    case()


# --- crm_mon XML ---------------------------------------------------------------------------
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))[:6]]


def mutated_xml() -> st.SearchStrategy[bytes]:
    """Random bytes, and recorded crm_mon XML truncated, spliced or with bytes flipped."""
    seed = st.sampled_from(SEEDS)
    return st.one_of(
        st.binary(max_size=2000),
        st.tuples(seed, st.floats(0, 1)).map(lambda sf: sf[0][: int(len(sf[0]) * sf[1])]),
        st.tuples(seed, st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)),
                                 min_size=1, max_size=20)).map(_flip),
        st.tuples(seed, st.floats(0, 1), hostile_text()).map(
            lambda t: t[0][: int(len(t[0]) * t[1])] + t[2].encode("utf-8", "surrogatepass")
            + t[0][int(len(t[0]) * t[1]):]),
    )


def _flip(seed_flips: Tuple[bytes, List[Tuple[float, int]]]) -> bytes:
    data = bytearray(seed_flips[0])
    for where, byte in seed_flips[1]:
        data[int(where * len(data))] = byte
    return bytes(data)


@settings(max_examples=EXAMPLES * 30, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=mutated_xml())
def test_crm_mon_parser_survives_fuzzed_bytes(data: bytes) -> None:
    """A ClusterState or a coded PacemakerUpdateError; never another exception."""
    COUNTS["xml"]["cases"] += 1
    try:
        state = parse_crm_mon_xml(data)
    except PacemakerUpdateError as exc:
        assert CODE.match(exc.code), exc.code
        COUNTS["xml"]["coded_error"] += 1
        return
    assert isinstance(state.node_names(), (list, tuple))
    COUNTS["xml"]["parsed"] += 1


# --- the CLI -------------------------------------------------------------------------------
class ConnectionCounter:
    """A TCP listener on loopback that counts (and drops) every connection: a node address."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Path, ConnectionCounter]]:
    """A config whose nodes are the counting listener, and a state dir."""
    counter = ConnectionCounter()
    base = tmp_path_factory.mktemp("cli")
    nodes = [{"name": n, "address": "127.0.0.1", "ssh": {"port": counter.port}}
             for n in ("server1", "server2")]
    (base / "config.yaml").write_text(yaml.safe_dump({"clusters": {"lab": {
        "frontend": "crmsh", "package_manager": "yum", "nodes": nodes}}}))
    yield base, counter
    counter.close()


def run_cli(base: Path, command: str, pairs: List[str]) -> subprocess.CompletedProcess:
    """pacemaker-update <command> update_cluster --param ... (the installed console script)."""
    argv = [sys.executable, "-m", "pacemaker_update.cli", command, "update_cluster",
            "--state-dir", str(base / "state"), "--config", str(base / "config.yaml")]
    for pair in pairs:
        argv += ["--param", pair]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def cli_value() -> st.SearchStrategy[str]:
    """Hostile text an OS can put in argv (no NUL, no lone surrogate)."""
    return hostile_text().filter(
        lambda v: "\x00" not in v and len(v) < 20_000 and not re.search("[\ud800-\udfff]", v))


# (plan forces dry_run=true over any --param dry_run, by design: dry_run is tried with run.)
CLI_TYPED = [("plan", "method"), ("plan", "wait_timeout"), ("plan", "failback"),
             ("plan", "approve"), ("plan", "all_packages"), ("run", "dry_run"),
             ("run", "method")]
if EXAMPLES < 10:  # the normal suite: one CLI start per kind of check keeps it under a minute
    CLI_TYPED = [("plan", "method"), ("plan", "wait_timeout"), ("run", "dry_run")]


@pytest.mark.parametrize("command,param", CLI_TYPED, ids=[f"{c}-{p}" for c, p in CLI_TYPED])
def test_cli_refuses_bad_typed_params_before_connecting(
        command: str, param: str, cli_env: Tuple[Path, ConnectionCounter]) -> None:
    """Enum/number/boolean parameters: exit 2 with a message, no connection to any node."""
    base, counter = cli_env

    @settings(max_examples=max(1, EXAMPLES // 3), derandomize=True, deadline=None,
              database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(value=cli_value())
    def case(value: str) -> None:
        before = counter.count
        pairs = ["cluster=lab", "method=rolling_standby", "packages=[\"httpd\"]"]
        pairs = [p for p in pairs if not p.startswith(param + "=")]
        proc = run_cli(base, command, pairs + [f"{param}={value}"])
        COUNTS["cli"]["cases"] += 1
        assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-500:])
        assert proc.stderr.strip(), "exit 2 without a message"
        assert counter.count == before, f"{counter.count - before} connections to a node"
        COUNTS["cli"]["exit_2_nothing_run"] += 1

    case()


CLI_NAMES = [("cluster", "{v}"), ("packages", "{j}"), ("restart_services", "{j}")]


@pytest.mark.parametrize("param,form", CLI_NAMES, ids=[p for p, _f in CLI_NAMES])
def test_cli_refuses_hostile_names_before_connecting(
        param: str, form: str, cli_env: Tuple[Path, ConnectionCounter]) -> None:
    """Hostile names: exit 2 with a message, no connection to any node."""
    base, counter = cli_env
    before = counter.count
    value = "$(id)"
    pairs = [p for p in ["cluster=lab", "method=rolling_standby", "packages=[\"httpd\"]"]
             if not p.startswith(param + "=")]
    proc = run_cli(base, "plan", pairs + [f"{param}={form.format(v=value, j=json.dumps([value]))}"])
    COUNTS["cli_names"]["cases"] += 1
    COUNTS["cli_names"][f"exit_{proc.returncode}"] += 1
    COUNTS["cli_names"]["node_connections"] += counter.count - before
    assert proc.returncode == 2 and counter.count == before, (
        proc.returncode, counter.count - before, proc.stdout[-300:])
