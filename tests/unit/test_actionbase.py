"""ClusterAction: every outcome is one envelope; bad input never reaches a transport.

The transport here is a double of the layer below (it records argv instead of running
them): this file tests the base class's contract, not SSH.
"""

import json
from pathlib import Path

import pytest
from pacemaker_update.actionbase import ActionContext, ClusterAction, command_trace
from pacemaker_update.errors import ConnectError, PreflightError
from pacemaker_update.transport.base import Result

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE_KEYS = {"ok", "cluster", "dry_run", "data", "commands", "trace", "warnings",
                 "state_after", "error"}
CONFIG = {"clusters": {"prod": {"nodes": [{"name": "n1", "address": "10.0.0.1"},
                                          {"name": "n2", "address": "10.0.0.2"}]}}}


class FakeResult:
    def __init__(self, host, argv):
        self.host, self.argv, self.rc = host, argv, 0

    def to_dict(self):
        return {"host": self.host, "argv": self.argv, "rc": self.rc}


class FakeTransport:
    def __init__(self, node, log, fail=False):
        self.node, self.log, self.fail, self.closed = node, log, fail, False

    def run(self, argv, timeout=None, sudo=None):
        if self.fail:
            raise ConnectError(f"cannot connect to {self.node}", details={"host": self.node})
        self.log.append((self.node, argv, timeout, sudo))
        return FakeResult(self.node, argv)

    def close(self):
        self.closed = True


class Harness:
    """Builds an action class whose transports are FakeTransports recorded here."""

    def __init__(self, behaviour, fail_nodes=()):
        self.ran, self.transports, self.seen = [], [], []
        harness = self

        def factory(cluster, node):
            transport = FakeTransport(node, harness.ran, fail=node in fail_nodes)
            harness.transports.append(transport)
            return transport

        class TheAction(ClusterAction):
            transport_factory = staticmethod(factory)

            def execute(self, ctx, **params):
                harness.seen.append((ctx, params))
                return behaviour(ctx, **params)

        self.action_class = TheAction

    def run(self, config=CONFIG, **params):
        ok, envelope = self.action_class(config=config).run(**params)
        assert set(envelope) == ENVELOPE_KEYS
        assert ok is envelope["ok"]
        json.dumps(envelope)  # what st2 stores must be JSON
        return ok, envelope


def standby(ctx, node="n1", **_):
    ctx.run(node, ["crm_mon", "--output-as=xml"], mutating=False)
    ctx.run(node, ["crm", "node", "standby", node], sudo=True)
    ctx.warn("resources moved")
    ctx.warn("resources moved")
    ctx.state_after = {"standby": [node]}
    return {"node": node}


def test_success_envelope():
    harness = Harness(standby)
    ok, env = harness.run(cluster="prod", node="n2", wait_timeout=30)
    assert ok is True and env["error"] is None
    assert (env["cluster"], env["dry_run"], env["data"]) == ("prod", False, {"node": "n2"})
    assert env["commands"] == [
        {"host": "n2", "argv": ["crm_mon", "--output-as=xml"], "rc": 0},
        {"host": "n2", "argv": ["crm", "node", "standby", "n2"], "rc": 0}]
    assert env["warnings"] == ["resources moved"]
    assert env["state_after"] == {"standby": ["n2"]}
    ctx, params = harness.seen[0]
    assert params == {"node": "n2"}  # common params consumed
    assert ctx.timeout == 30.0 and ctx.cluster.node_names == ("n1", "n2")
    assert all(t.closed for t in harness.transports)


def test_dry_run_plans_mutations_and_still_reads():
    harness = Harness(standby)
    ok, env = harness.run(cluster="prod", dry_run=True)
    assert ok is True and env["dry_run"] is True
    assert harness.ran == [("n1", ["crm_mon", "--output-as=xml"], None, None)]
    assert env["commands"][1] == {"host": "n1", "argv": ["crm", "node", "standby", "n1"],
                                  "planned": True, "sudo": True}
    # what the workflows keep in their progress and their report's plan
    assert env["trace"] == [
        {"host": "n1", "argv": ["crm_mon", "--output-as=xml"], "rc": 0, "dry_run": False},
        {"host": "n1", "argv": ["crm", "node", "standby", "n1"], "rc": None, "dry_run": True}]


def test_the_trace_keeps_each_command_without_its_output():
    ran = Result("n1", ("crm_mon", "--output-as=xml"), 0, "<pacemaker-result/>", "", 0.2, 1.0)
    failed = Result("n2", ("crm", "node", "online", "n2"), 1, "", "no such node", 0.1, 2.0)
    assert command_trace([ran.to_dict(), failed.to_dict(),
                          {"host": "n2", "argv": ["crm_mon"], "error": "SSH_CONNECT_FAILED"}]) == [
        {"host": "n1", "argv": ["crm_mon", "--output-as=xml"], "rc": 0, "dry_run": False},
        {"host": "n2", "argv": ["crm", "node", "online", "n2"], "rc": 1, "dry_run": False},
        {"host": "n2", "argv": ["crm_mon"], "rc": None, "dry_run": False}]


def test_coded_error_keeps_the_commands_that_already_ran():
    def refuse(ctx, **_):
        ctx.run("n1", ["crm", "node", "standby", "n1"])
        raise PreflightError("node n2 is offline", details={"node": "n2"}, hint="start it")

    ok, env = Harness(refuse).run(cluster="prod")
    assert ok is False
    assert env["error"] == {"code": "PREFLIGHT_FAILED", "message": "node n2 is offline",
                            "details": {"node": "n2"}, "hint": "start it"}
    assert len(env["commands"]) == 1 and len(env["trace"]) == 1


def test_transport_error_is_recorded_and_coded():
    harness = Harness(standby, fail_nodes=("n1",))
    ok, env = harness.run(cluster="prod")
    assert ok is False and env["error"]["code"] == "SSH_CONNECT_FAILED"
    assert env["commands"] == [{"host": "n1", "argv": ["crm_mon", "--output-as=xml"],
                                "error": "SSH_CONNECT_FAILED",
                                "message": "cannot connect to n1"}]
    assert all(t.closed for t in harness.transports)


def test_unexpected_exception_is_an_internal_error_with_traceback(caplog):
    def buggy(ctx, **_):
        return {}["missing"]

    ok, env = Harness(buggy).run(cluster="prod")
    assert ok is False
    assert env["error"]["code"] == "INTERNAL_ERROR"
    assert "KeyError" in env["error"]["message"]
    assert "in buggy" in env["error"]["details"]["traceback"]
    assert any("unexpected error" in r.message for r in caplog.records)


@pytest.mark.parametrize("params,code", [
    ({"cluster": "prdo"}, "UNKNOWN_CLUSTER"),
    ({}, "MISSING_CLUSTER"),
    ({"cluster": "prod", "nodes": ["n1"]}, "CONFLICTING_PARAMS"),
    ({"cluster": "prod", "node": "n9"}, "UNKNOWN_NODE"),
    ({"cluster": "prod", "node": "n1;reboot"}, "INVALID_INPUT"),
    ({"cluster": "prod", "wait_timeout": 0}, "INVALID_INPUT"),
    ({"cluster": "prod", "timeout": -1}, "INVALID_INPUT"),
    ({"cluster": "prod", "timeout": "soon"}, "INVALID_INPUT"),
    ({"cluster": "prod", "timeout": 5, "wait_timeout": 5}, "CONFLICTING_PARAMS"),
    ({"cluster": "prod", "dry_run": "yes"}, "INVALID_INPUT"),
    ({"nodes": []}, "INVALID_NODES"),
    ({"nodes": ["ok", "-bad"]}, "INVALID_NODES"),
])
def test_bad_input_is_refused_before_any_transport(params, code):
    harness = Harness(standby)
    ok, env = harness.run(**params)
    assert ok is False and env["error"]["code"] == code
    assert harness.transports == [] and harness.seen == []
    assert env["commands"] == []


def test_unknown_cluster_lists_known_names():
    _, env = Harness(standby).run(cluster="prdo")
    assert env["error"]["details"]["known"] == ["prod"]
    assert env["cluster"] == "prdo"


def test_invalid_pack_config_is_reported_with_its_paths():
    bad = {"clusters": {"prod": {"nodes": [{"name": "n1", "address": "bad host"}]}}}
    _, env = Harness(standby).run(config=bad, cluster="prod")
    assert env["error"]["code"] == "CONFIG_INVALID"
    assert "clusters.prod.nodes[0].address" in env["error"]["message"]


def test_explicit_nodes_make_an_adhoc_cluster():
    harness = Harness(standby)
    ok, env = harness.run(config=None, nodes=["alpha", "beta"], node="beta", timeout=12)
    assert ok is True and env["cluster"] == "adhoc"
    ctx, _ = harness.seen[0]
    assert ctx.config is None and ctx.timeout == 12.0
    assert harness.ran[0][0] == "beta"


def test_outside_st2_an_empty_config_falls_back_to_the_cli_file(monkeypatch):
    monkeypatch.setenv("PACEMAKER_UPDATE_CONFIG", str(ROOT / "pacemaker_update.yaml.example"))
    harness = Harness(standby)
    ok, env = harness.run(config=None, cluster="web_pcs", node="web2", dry_run=True)
    assert ok is True and env["cluster"] == "web_pcs"
    assert harness.seen[0][0].config.cluster_names == ("db_rhel7", "web_pcs")


def test_missing_cli_config_is_a_coded_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PACEMAKER_UPDATE_CONFIG", str(tmp_path / "none.yaml"))
    _, env = Harness(standby).run(config=None, cluster="prod")
    assert env["error"]["code"] == "CONFIG_NOT_FOUND"


def test_context_refuses_unknown_node_transport():
    harness = Harness(standby)
    harness.run(cluster="prod")
    ctx = harness.seen[0][0]
    assert isinstance(ctx, ActionContext)
    with pytest.raises(Exception) as info:
        ctx.transport("n7")
    assert getattr(info.value, "code", None) == "UNKNOWN_NODE"
