"""A scripted transport double, pcs_test style: it fails the test on an unexpected argv,
an extra call, or (at ``assert_done``) a call that was never made.

    script = CommandScript()
    script.expect("server1", ["crm_mon", "-1", "--output-as=xml"], stdout=xml)
    ctx = make_ctx(script, ["server1", "server2"])
    ... run the op ...
    script.assert_done()

Calls must come in the scripted order: polling loops are deterministic under FakeClock
(time moves only when the code sleeps). crm_mon output comes from the real recorded
fixtures in tests/fixtures/crm_mon/.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from pacemaker_update.actionbase import ActionContext
from pacemaker_update.config import build_adhoc_cluster, load_config
from pacemaker_update.errors import ConnectError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
CRM_MON = ["crm_mon", "-1", "--output-as=xml"]


def fixture(name: str) -> str:
    """A recorded crm_mon --output-as=xml fixture by scenario name."""
    return (FIXTURES / f"{name}.xml").read_text()


try:  # the real Result once transport/ exists; the same fields otherwise
    from pacemaker_update.transport import Result as _Result
except ImportError:  # pragma: no cover - only before the transport layer landed
    _Result = None


class FakeResult:
    """Result-compatible: host, argv, rc, stdout, stderr, duration, ok, to_dict()."""

    def __init__(self, host: str, argv: Sequence[str], rc: int, stdout: str, stderr: str):
        self.host, self.argv, self.rc = host, list(argv), rc
        self.stdout, self.stderr, self.duration = stdout, stderr, 0.01

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def to_dict(self) -> Dict[str, Any]:
        return {"host": self.host, "argv": self.argv, "rc": self.rc, "stdout": self.stdout,
                "stderr": self.stderr, "duration": self.duration, "ok": self.ok}


def make_result(host: str, argv: Sequence[str], rc: int, stdout: str, stderr: str) -> Any:
    if _Result is not None:
        try:
            return _Result(host=host, argv=tuple(argv), rc=rc, stdout=stdout, stderr=stderr,
                           duration=0.01, started_at=0.0)
        except TypeError:
            pass
    return FakeResult(host, argv, rc, stdout, stderr)


class Expected:
    def __init__(self, host: str, argv: Sequence[str], rc: int, stdout: str, stderr: str,
                 stdin: Optional[Any], raises: Optional[BaseException]):
        self.host, self.argv, self.rc = host, list(argv), rc
        self.stdout, self.stderr, self.stdin, self.raises = stdout, stderr, stdin, raises

    def __repr__(self) -> str:
        return f"{self.host}: {self.argv}"


class CommandScript:
    """The ordered list of commands an op must run, with their canned results."""

    def __init__(self) -> None:
        self.expected: List[Expected] = []
        self.calls: List[Dict[str, Any]] = []

    def expect(self, host: str, argv: Sequence[str], rc: int = 0, stdout: str = "",
               stderr: str = "", stdin: Any = None, raises: Optional[BaseException] = None
               ) -> "CommandScript":
        """Add one expected call; ``stdin`` (if given) is a predicate or the exact text."""
        self.expected.append(Expected(host, argv, rc, stdout, stderr, stdin, raises))
        return self

    def expect_status(self, host: str, scenario: str, times: int = 1) -> "CommandScript":
        """crm_mon XML on ``host`` answered with a recorded fixture, ``times`` times."""
        for _ in range(times):
            self.expect(host, CRM_MON, stdout=fixture(scenario))
        return self

    def run(self, host: str, argv: Sequence[str], stdin: Any = None) -> Any:
        self.calls.append({"host": host, "argv": list(argv)})
        if not self.expected:
            raise AssertionError(f"extra call, nothing more expected: {host}: {list(argv)}")
        exp = self.expected.pop(0)
        if (exp.host, exp.argv) != (host, list(argv)):
            raise AssertionError(f"unexpected call {host}: {list(argv)}\n   expected {exp}")
        if exp.stdin is not None:
            ok = exp.stdin(stdin) if callable(exp.stdin) else exp.stdin == stdin
            if not ok:
                raise AssertionError(f"unexpected stdin for {exp}: {str(stdin)[:200]!r}")
        if exp.raises is not None:
            raise exp.raises
        return make_result(host, argv, exp.rc, exp.stdout, exp.stderr)

    def assert_done(self) -> None:
        """Fail when an expected call was never made."""
        if self.expected:
            raise AssertionError(f"calls never made: {self.expected}")

    def transport(self, node: str) -> "FakeTransport":
        return FakeTransport(node, self)


class FakeTransport:
    """One node's view of a CommandScript, with the Transport.run signature."""

    def __init__(self, node: str, script: CommandScript) -> None:
        self.node, self.script = node, script

    def run(self, argv: Sequence[str], timeout: Optional[float] = None,
            sudo: Optional[bool] = None, env: Any = None, stdin: Any = None) -> Any:
        return self.script.run(self.node, argv, stdin)

    def close(self) -> None:
        pass


class FakeClock:
    """Time moves only when the code sleeps: polling loops become deterministic."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: List[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)


def unreachable(host: str) -> ConnectError:
    """The error a transport raises for a host that does not answer."""
    return ConnectError(f"cannot connect to {host}", details={"host": host})


def make_cluster(nodes: Sequence[str] = ("server1", "server2"), frontend: str = "pcs",
                 package_manager: str = "yum", name: str = "lab") -> Any:
    """A ClusterConfig like the pack config would give (front end forced by default)."""
    entries = [{"name": n, "address": n} for n in nodes]
    return load_config({"clusters": {name: {"nodes": entries, "frontend": frontend,
                                            "package_manager": package_manager}}}
                       ).cluster(name)


def make_ctx(script: CommandScript, nodes: Sequence[str] = ("server1", "server2"),
             dry_run: bool = False, timeout: Optional[float] = None, **cluster_kw: Any
             ) -> ActionContext:
    """An ActionContext whose transports are this script's FakeTransports."""
    cluster = make_cluster(nodes, **cluster_kw)
    return ActionContext(cluster, None, dry_run, timeout,
                         transport_factory=lambda _c, node: script.transport(node))


__all__ = ["CRM_MON", "CommandScript", "FakeClock", "build_adhoc_cluster", "fixture",
           "make_ctx", "unreachable"]
